# Outputs. Every cloud returns the same ones, so deploy values and CI read them the same way.

output "cluster_name" {
  description = "Name of the Kubernetes cluster."
  value       = google_container_cluster.main.name
}

output "cluster_endpoint" {
  description = "URL of the Kubernetes API server."
  value       = "https://${google_container_cluster.main.endpoint}"
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "gcloud container clusters get-credentials ${google_container_cluster.main.name} --region ${var.region} --project ${var.account_id}"
}

output "registry_url" {
  description = "Image repository of the app: push <registry_url>:<tag>."
  value       = "${var.region}-docker.pkg.dev/${var.account_id}/${google_artifact_registry_repository.app.repository_id}/${var.app_name}"
}

output "service_account_annotations" {
  description = "Annotations that bind the app's Kubernetes ServiceAccount to its cloud identity."
  value = {
    "iam.gke.io/gcp-service-account" = google_service_account.app.email
  }
}

output "ci_variables" {
  description = "GitHub Actions repository variables the CI workflow signs in with (OIDC, no keys)."
  value = {
    GCP_WORKLOAD_IDENTITY_PROVIDER = google_iam_workload_identity_pool_provider.github.name
    GCP_SERVICE_ACCOUNT            = google_service_account.ci.email
  }
}
