provider "google" {
  project        = var.account_id
  region         = var.region
  default_labels = local.labels
}

# Only for google_project_service_identity (service agents created before keys are granted to them).
provider "google-beta" {
  project        = var.account_id
  region         = var.region
  default_labels = local.labels
}
