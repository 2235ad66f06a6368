# Names, labels and the APIs every other file needs.

locals {
  prefix = "${var.name}-${var.environment}"

  labels = merge(var.labels, {
    project     = var.name
    environment = var.environment
    managed-by  = "terraform"
  })

  # Google-managed service agents that encrypt with the project's KMS key. GKE's and Compute
  # Engine's exist once their APIs are on; the others are created explicitly (kms.tf).
  service_agents = {
    gke      = "serviceAccount:service-${data.google_project.current.number}@container-engine-robot.iam.gserviceaccount.com"
    compute  = "serviceAccount:service-${data.google_project.current.number}@compute-system.iam.gserviceaccount.com"
    registry = google_project_service_identity.registry.member
    secrets  = google_project_service_identity.secrets.member
  }
}

data "google_project" "current" {
  project_id = var.account_id
}

resource "google_project_service" "main" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "cloudkms.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sts.googleapis.com",
  ])

  service            = each.value
  disable_on_destroy = false
}
