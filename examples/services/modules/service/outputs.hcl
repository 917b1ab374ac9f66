output "image" {
  description = "The pushed image, pinned by digest."
  value       = docker_push.image.ref
}

output "deployment" {
  value = "${k8s_deploy.app.namespace}/${k8s_deploy.app.name}"
}
