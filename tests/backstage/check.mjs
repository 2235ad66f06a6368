// Checks catalog-info.yaml files as a Backstage catalog would ingest them, with Backstage's own
// catalog model: the entity policies the catalog backend applies by default, each built-in kind's
// validator, and entity references parsed as the catalog parses them (owner: a Group or a User).
// Usage: node check.mjs FILE...; prints one line per problem and exits 1 when there is any.
import { readFileSync } from "node:fs";
import {
  DefaultNamespaceEntityPolicy,
  EntityPolicies,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
  makeValidator,
  parseEntityRef,
  resourceEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
} from "@backstage/catalog-model";
import { parseAllDocuments } from "yaml";

const policy = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);
const kinds = [
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
];
const OWNER_KINDS = ["group", "user"];
const valid = makeValidator(); // the catalog's own rules for each part of an entity's name

// An entity reference the catalog could resolve: it parses, and each part could name an entity.
function refProblems(field, ref, options) {
  let parsed;
  try {
    parsed = parseEntityRef(ref, options);
  } catch (error) {
    return [`${field}: ${error.message}`];
  }
  const found = [];
  if (!valid.isValidKind(parsed.kind)) found.push(`${field}: kind "${parsed.kind}" is not valid`);
  if (!valid.isValidNamespace(parsed.namespace)) found.push(`${field}: namespace "${parsed.namespace}" is not valid`);
  if (!valid.isValidEntityName(parsed.name)) found.push(`${field}: name "${parsed.name}" is not valid`);
  if (field === "spec.owner" && !OWNER_KINDS.includes(parsed.kind.toLowerCase())) {
    found.push(`${field}: kind ${parsed.kind} is not a group or user`);
  }
  return found;
}
const RELATIONS = ["dependsOn", "dependencyOf", "providesApis", "consumesApis", "system", "subcomponentOf"];

async function problems(entity) {
  const found = [];
  let checked;
  try {
    checked = await policy.enforce(entity);
  } catch (error) {
    return [error.message];
  }
  const results = await Promise.all(kinds.map(async (kind) => kind.check(checked).catch((e) => e)));
  const errors = results.filter((r) => r instanceof Error);
  if (errors.length) found.push(...errors.map((e) => e.message));
  else if (!results.includes(true)) found.push(`no built-in validator accepts kind ${entity.kind}`);
  const context = { defaultNamespace: checked.metadata.namespace ?? "default" };
  if (checked.spec?.owner !== undefined) {
    found.push(...refProblems("spec.owner", checked.spec.owner, { defaultKind: "group", ...context }));
  }
  for (const field of RELATIONS) {
    for (const ref of [checked.spec?.[field] ?? []].flat()) found.push(...refProblems(`spec.${field}`, ref, context));
  }
  return found;
}

let failed = false;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length) {
      console.log(`${file}: ${doc.errors[0].message}`);
      failed = true;
      continue;
    }
    const entity = doc.toJS();
    for (const problem of await problems(entity)) {
      console.log(`${file}: ${entity?.kind} ${entity?.metadata?.name}: ${problem}`);
      failed = true;
    }
  }
}
process.exit(failed ? 1 : 0);
