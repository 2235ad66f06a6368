# Who may do what, with no service-account keys anywhere:
# - the app's Kubernetes ServiceAccount (namespace and name = var.app_name) acts as the app service
#   account through GKE Workload Identity; each data-service file grants it what that service needs;
# - GitHub Actions of var.github_repository's main branch act as the CI service account through
#   Workload Identity Federation: push the app image and read the project for `terraform plan`.

resource "google_service_account" "app" {
  account_id   = "${local.prefix}-app"
  display_name = "${local.prefix} app (Workload Identity)"

  depends_on = [google_project_service.main]
}

resource "google_service_account_iam_member" "app_workload_identity" {
  service_account_id = google_service_account.app.name
  role               = "roles/iam.workloadIdentityUser"
  member             = local.app_member

  depends_on = [google_container_cluster.main]
}

resource "google_iam_workload_identity_pool" "github" {
  workload_identity_pool_id = "${local.prefix}-gh"
  display_name              = "GitHub Actions"
  description               = "GitHub Actions OIDC tokens of ${var.github_repository}"

  depends_on = [google_project_service.main]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  #checkov:skip=CKV_GCP_125:The condition pins the sub claim to repo:<owner/name>:ref:refs/heads/main; checkov cannot read owner/name through var.github_repository.
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github"
  display_name                       = "GitHub"
  attribute_condition                = "assertion.sub == \"repo:${var.github_repository}:ref:refs/heads/main\""

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
  }

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "ci" {
  account_id   = "${local.prefix}-ci"
  display_name = "${local.prefix} CI (GitHub OIDC)"

  depends_on = [google_project_service.main]
}

resource "google_service_account_iam_member" "ci_github" {
  service_account_id = google_service_account.ci.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.repository/${var.github_repository}"
}

resource "google_project_iam_member" "ci_read" {
  #checkov:skip=CKV_GCP_117:terraform plan in CI reads every resource of this stack; roles/viewer is read-only and grants no secret payloads (apply stays with an administrator).
  project = var.account_id
  role    = "roles/viewer"
  member  = "serviceAccount:${google_service_account.ci.email}"
}
