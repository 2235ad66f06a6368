# Outputs. Every cloud returns the same ones, so deploy values and CI read them the same way.

output "cluster_name" {
  description = "Name of the Kubernetes cluster."
  value       = azurerm_kubernetes_cluster.main.name
}

output "cluster_endpoint" {
  description = "URL of the Kubernetes API server."
  value       = "https://${azurerm_kubernetes_cluster.main.private_cluster_enabled ? azurerm_kubernetes_cluster.main.private_fqdn : azurerm_kubernetes_cluster.main.fqdn}:443"
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "az aks get-credentials --resource-group ${azurerm_resource_group.main.name} --name ${azurerm_kubernetes_cluster.main.name}"
}

output "registry_url" {
  description = "Image repository of the app: push <registry_url>:<tag>."
  value       = "${azurerm_container_registry.main.login_server}/${var.app_name}"
}

output "service_account_annotations" {
  description = "Annotations that bind the app's Kubernetes ServiceAccount to its cloud identity."
  value = {
    "azure.workload.identity/client-id" = azurerm_user_assigned_identity.app.client_id
  }
}

output "ci_variables" {
  description = "GitHub Actions repository variables the CI workflow signs in with (OIDC, no keys)."
  value = {
    AZURE_CLIENT_ID       = azurerm_user_assigned_identity.ci.client_id
    AZURE_TENANT_ID       = data.azurerm_client_config.current.tenant_id
    AZURE_SUBSCRIPTION_ID = var.account_id
  }
}
