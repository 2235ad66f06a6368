# One Cloud KMS key, rotated every 90 days, encrypts at rest what supports customer-managed keys:
# Kubernetes secrets, node disks, images, secrets and the data services. Each Google service agent
# that uses it gets encrypt/decrypt on this key only.

resource "google_kms_key_ring" "main" {
  name     = local.prefix
  location = var.region

  depends_on = [google_project_service.main]
}

resource "google_kms_crypto_key" "main" {
  name            = "${local.prefix}-data"
  key_ring        = google_kms_key_ring.main.id
  rotation_period = "7776000s"

  lifecycle {
    prevent_destroy = true
  }
}

resource "google_kms_crypto_key_iam_member" "service_agents" {
  for_each = local.service_agents

  crypto_key_id = google_kms_crypto_key.main.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = each.value
}

resource "google_project_service_identity" "registry" {
  provider = google-beta
  service  = "artifactregistry.googleapis.com"

  depends_on = [google_project_service.main]
}

resource "google_project_service_identity" "secrets" {
  provider = google-beta
  service  = "secretmanager.googleapis.com"

  depends_on = [google_project_service.main]
}
