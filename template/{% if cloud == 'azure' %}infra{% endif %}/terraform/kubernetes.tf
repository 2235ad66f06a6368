# AKS: API private unless admin_cidrs is set, Entra ID sign-in with Azure RBAC (no local accounts),
# Workload Identity, Azure CNI overlay with Cilium network policy, Kubernetes secrets encrypted with a
# Key Vault key, host-encrypted node disks, NAT-gateway egress. A small system pool runs only AKS's
# own pods; the app runs on an autoscaled node pool in three zones.

#trivy:ignore:AZU-0067 Nodes use ephemeral OS disks encrypted by host encryption; a disk encryption set applies only to managed OS disks.
resource "azurerm_kubernetes_cluster" "main" {
  #checkov:skip=CKV_AZURE_117:Nodes use ephemeral OS disks on the host's cache, encrypted by host encryption; a disk encryption set applies only to managed OS disks.
  name                = local.prefix
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  dns_prefix          = local.prefix
  kubernetes_version  = var.kubernetes_version
  sku_tier            = "Standard"
  tags                = local.tags

  automatic_upgrade_channel         = "patch"
  node_os_upgrade_channel           = "NodeImage"
  private_cluster_enabled           = length(var.admin_cidrs) == 0
  local_account_disabled            = true
  role_based_access_control_enabled = true
  oidc_issuer_enabled               = true
  workload_identity_enabled         = true
  azure_policy_enabled              = true

  default_node_pool {
    name                         = "system"
    vm_size                      = "Standard_D2ds_v5"
    vnet_subnet_id               = azurerm_subnet.nodes.id
    zones                        = ["1", "2", "3"]
    only_critical_addons_enabled = true
    auto_scaling_enabled         = true
    min_count                    = 2
    max_count                    = 3
    max_pods                     = 50
    os_disk_type                 = "Ephemeral"
    host_encryption_enabled      = true
    tags                         = local.tags

    upgrade_settings {
      max_surge = "33%"
    }
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.cluster.id]
  }

  azure_active_directory_role_based_access_control {
    tenant_id          = data.azurerm_client_config.current.tenant_id
    azure_rbac_enabled = true
  }

  dynamic "api_server_access_profile" {
    for_each = length(var.admin_cidrs) > 0 ? [var.admin_cidrs] : []

    content {
      authorized_ip_ranges = api_server_access_profile.value
    }
  }

  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_data_plane  = "cilium"
    network_policy      = "cilium"
    outbound_type       = "userAssignedNATGateway"
    pod_cidr            = "192.168.0.0/16"
    service_cidr        = "172.20.0.0/16"
    dns_service_ip      = "172.20.0.10"
  }

  key_management_service {
    key_vault_key_id         = azurerm_key_vault_key.etcd.id
    key_vault_network_access = "Public"
  }

  key_vault_secrets_provider {
    secret_rotation_enabled = true
  }

  oms_agent {
    log_analytics_workspace_id      = azurerm_log_analytics_workspace.main.id
    msi_auth_for_monitoring_enabled = true
  }

  depends_on = [
    azurerm_role_assignment.cluster_network,
    azurerm_role_assignment.cluster_key,
    azurerm_subnet_nat_gateway_association.nodes,
  ]
}

resource "azurerm_kubernetes_cluster_node_pool" "main" {
  name                    = "nodes"
  kubernetes_cluster_id   = azurerm_kubernetes_cluster.main.id
  mode                    = "User"
  vm_size                 = var.node_instance_type
  vnet_subnet_id          = azurerm_subnet.nodes.id
  zones                   = ["1", "2", "3"]
  auto_scaling_enabled    = true
  min_count               = var.node_min_count
  max_count               = var.node_max_count
  max_pods                = 50
  os_disk_type            = "Ephemeral"
  host_encryption_enabled = true
  tags                    = local.tags

  upgrade_settings {
    max_surge = "33%"
  }
}

# The control plane's own identity: it joins nodes to the subnet and encrypts with the etcd key.
resource "azurerm_user_assigned_identity" "cluster" {
  name                = "${local.prefix}-cluster"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

resource "azurerm_role_assignment" "cluster_network" {
  scope                = azurerm_virtual_network.main.id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_user_assigned_identity.cluster.principal_id
}

resource "azurerm_role_assignment" "cluster_key" {
  scope                = azurerm_key_vault_key.etcd.resource_versionless_id
  role_definition_name = "Key Vault Crypto User"
  principal_id         = azurerm_user_assigned_identity.cluster.principal_id
}

resource "azurerm_log_analytics_workspace" "main" {
  name                = local.prefix
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku                 = "PerGB2018"
  retention_in_days   = 365
  tags                = local.tags
}
