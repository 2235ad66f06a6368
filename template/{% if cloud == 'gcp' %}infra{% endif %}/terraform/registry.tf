# Artifact Registry repository for the app image: immutable tags, KMS-encrypted, old images cleaned
# up. Nodes may pull from it, CI may push to it, nothing else.

resource "google_artifact_registry_repository" "app" {
  repository_id = local.prefix
  location      = var.region
  format        = "DOCKER"
  description   = "Images of ${var.app_name}"
  kms_key_name  = google_kms_crypto_key.main.id

  docker_config {
    immutable_tags = true
  }

  cleanup_policies {
    id     = "keep-newest-100"
    action = "KEEP"

    most_recent_versions {
      keep_count = 100
    }
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]
}

resource "google_artifact_registry_repository_iam_member" "nodes_pull" {
  repository = google_artifact_registry_repository.app.name
  location   = var.region
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${local.node_service_account}"
}

resource "google_artifact_registry_repository_iam_member" "ci_push" {
  repository = google_artifact_registry_repository.app.name
  location   = var.region
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.ci.email}"
}
