# Outputs. Every cloud returns the same ones, so deploy values and CI read them the same way.

output "cluster_name" {
  description = "Name of the Kubernetes cluster."
  value       = aws_eks_cluster.main.name
}

output "cluster_endpoint" {
  description = "URL of the Kubernetes API server."
  value       = aws_eks_cluster.main.endpoint
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${aws_eks_cluster.main.name}"
}

output "registry_url" {
  description = "Image repository of the app: push <registry_url>:<tag>."
  value       = aws_ecr_repository.app.repository_url
}

output "service_account_annotations" {
  description = "Annotations that bind the app's Kubernetes ServiceAccount to its cloud identity."
  value = {
    "eks.amazonaws.com/role-arn" = aws_iam_role.app.arn
  }
}

output "ci_variables" {
  description = "GitHub Actions repository variables the CI workflow signs in with (OIDC, no keys)."
  value = {
    AWS_ROLE_ARN = aws_iam_role.ci.arn
    AWS_REGION   = var.region
  }
}
