# Key Vault: the generated passwords and the key that encrypts Kubernetes secrets in etcd. RBAC
# only, purge protection on, firewall closed except for admin_cidrs (run Terraform from there or from
# inside the VNet) and trusted Azure services.

resource "azurerm_key_vault" "main" {
  #checkov:skip=CKV_AZURE_189:Terraform writes the generated passwords from outside the VNet; the firewall denies all but admin_cidrs and trusted Azure services, and the cluster uses the private endpoint.
  name                          = local.unique
  location                      = azurerm_resource_group.main.location
  resource_group_name           = azurerm_resource_group.main.name
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "premium"
  enable_rbac_authorization     = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = 90
  public_network_access_enabled = true
  tags                          = local.tags

  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
    ip_rules       = var.admin_cidrs
  }
}

resource "azurerm_private_endpoint" "key_vault" {
  name                = "${local.prefix}-key-vault"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  subnet_id           = azurerm_subnet.endpoints.id
  tags                = local.tags

  private_service_connection {
    name                           = "key-vault"
    private_connection_resource_id = azurerm_key_vault.main.id
    subresource_names              = ["vault"]
    is_manual_connection           = false
  }
}

# Whoever runs Terraform administers the vault's contents (writes the generated passwords).
resource "azurerm_role_assignment" "terraform_key_vault" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Administrator"
  principal_id         = data.azurerm_client_config.current.object_id
}

#trivy:ignore:AZU-0014 Expiry comes from rotation_policy: each version expires after two years and a new one is rotated in 30 days before.
resource "azurerm_key_vault_key" "etcd" {
  #checkov:skip=CKV_AZURE_40:Expiry comes from rotation_policy: each version expires after two years and a new one is rotated in 30 days before.
  name         = "kubernetes-secrets"
  key_vault_id = azurerm_key_vault.main.id
  key_type     = "RSA-HSM"
  key_size     = 2048
  key_opts     = ["decrypt", "encrypt", "sign", "unwrapKey", "verify", "wrapKey"]

  rotation_policy {
    expire_after         = "P2Y"
    notify_before_expiry = "P30D"

    automatic {
      time_before_expiry = "P30D"
    }
  }

  depends_on = [azurerm_role_assignment.terraform_key_vault]
}

# deletion_protection: Azure refuses to delete the vault, which holds the key of the cluster's
# secrets, while this lock stands.
resource "azurerm_management_lock" "key_vault" {
  count = var.deletion_protection ? 1 : 0

  name       = "deletion-protection"
  scope      = azurerm_key_vault.main.id
  lock_level = "CanNotDelete"
  notes      = "Set deletion_protection = false and apply before deleting it."
}
