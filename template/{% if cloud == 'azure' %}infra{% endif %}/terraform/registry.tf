# Azure Container Registry for the app image: Entra ID sign-in only (no admin user, no anonymous
# pull), zone-redundant, untagged manifests expire. Nodes may pull, CI may push.

resource "azurerm_container_registry" "main" {
  #checkov:skip=CKV_AZURE_139:CI pushes from hosted runners outside the VNet; sign-in is Entra ID only (no admin user, no anonymous pull).
  #checkov:skip=CKV_AZURE_164:Docker Content Trust is deprecated in ACR; sign images with Notation or Cosign in CI instead.
  #checkov:skip=CKV_AZURE_165:One region; add a georeplications block when the app runs in more.
  #checkov:skip=CKV_AZURE_166:Quarantine holds every image until a scanner marks it verified, which would block every deploy without one; scan images in CI (or with Microsoft Defender for Containers).
  name                          = replace(local.unique, "-", "")
  location                      = azurerm_resource_group.main.location
  resource_group_name           = azurerm_resource_group.main.name
  sku                           = "Premium"
  admin_enabled                 = false
  anonymous_pull_enabled        = false
  data_endpoint_enabled         = true
  zone_redundancy_enabled       = true
  public_network_access_enabled = true
  retention_policy_in_days      = 30
  tags                          = local.tags
}

resource "azurerm_role_assignment" "nodes_pull" {
  scope                            = azurerm_container_registry.main.id
  role_definition_name             = "AcrPull"
  principal_id                     = local.node_principal_id
  skip_service_principal_aad_check = true
}

resource "azurerm_role_assignment" "ci_push" {
  scope                = azurerm_container_registry.main.id
  role_definition_name = "AcrPush"
  principal_id         = azurerm_user_assigned_identity.ci.principal_id
}
