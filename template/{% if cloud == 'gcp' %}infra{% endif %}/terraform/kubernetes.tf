# GKE: regional, private nodes, API private unless admin_cidrs is set, Workload Identity, Dataplane
# V2 (network policy enforced), Kubernetes secrets encrypted with the KMS key, shielded nodes; one
# autoscaled node pool on a minimal service account.

resource "google_container_cluster" "main" {
  #checkov:skip=CKV_GCP_12:Dataplane V2 (ADVANCED_DATAPATH) enforces NetworkPolicy itself; the separate Calico add-on must stay off.
  #checkov:skip=CKV_GCP_21:resource_labels is local.labels (var.labels plus project, environment, managed-by), which checkov cannot evaluate.
  #checkov:skip=CKV_GCP_65:Google Groups for RBAC needs a Google Workspace domain this template cannot know; access is granted through IAM.
  name                = local.prefix
  location            = var.region
  min_master_version  = var.kubernetes_version
  network             = google_compute_network.main.id
  subnetwork          = google_compute_subnetwork.private.id
  deletion_protection = var.deletion_protection
  resource_labels     = local.labels

  # Node pools are managed below; the default one is removed once the cluster exists.
  remove_default_node_pool = true
  initial_node_count       = 1

  networking_mode             = "VPC_NATIVE"
  datapath_provider           = "ADVANCED_DATAPATH"
  enable_shielded_nodes       = true
  enable_intranode_visibility = true

  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = length(var.admin_cidrs) == 0
    master_ipv4_cidr_block  = "172.16.0.0/28"
  }

  master_authorized_networks_config {
    dynamic "cidr_blocks" {
      for_each = var.admin_cidrs

      content {
        cidr_block   = cidr_blocks.value
        display_name = "admin ${cidr_blocks.key}"
      }
    }
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  workload_identity_config {
    workload_pool = "${var.account_id}.svc.id.goog"
  }

  database_encryption {
    state    = "ENCRYPTED"
    key_name = google_kms_crypto_key.main.id
  }

  release_channel {
    channel = "REGULAR"
  }

  binary_authorization {
    evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE"
  }

  # The default pool is created then removed; it gets the same hardening as the real one.
  node_config {
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]

    workload_metadata_config {
      mode = "GKE_METADATA"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]
}

resource "google_container_node_pool" "main" {
  name     = "${local.prefix}-nodes"
  cluster  = google_container_cluster.main.id
  location = var.region

  autoscaling {
    total_min_node_count = var.node_min_count
    total_max_node_count = var.node_max_count
    location_policy      = "BALANCED"
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type      = var.node_instance_type
    image_type        = "COS_CONTAINERD"
    disk_type         = "pd-balanced"
    disk_size_gb      = 50
    boot_disk_kms_key = google_kms_crypto_key.main.id
    service_account   = google_service_account.nodes.email
    oauth_scopes      = ["https://www.googleapis.com/auth/cloud-platform"]
    labels            = local.labels

    metadata = {
      disable-legacy-endpoints = "true"
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
  }
}

# Nodes run as this account, with only what logging, monitoring and image pulls need.
resource "google_service_account" "nodes" {
  account_id   = "${local.prefix}-node"
  display_name = "${local.prefix} GKE nodes"

  depends_on = [google_project_service.main]
}

resource "google_project_iam_member" "nodes" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/autoscaling.metricsWriter",
  ])

  project = var.account_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.nodes.email}"
}
