# A Helm release of the chart in charts/web, installed (and upgraded) through
# the Helm SDK: `helm history ansflow-example-web -n ansflow-example` shows
# every revision ansflow made. See README.md.

helm_release "web" {
  cluster      = cluster.local
  namespace    = k8s_deploy.namespace.name
  name         = "${local.app}-web"
  chart        = "charts/web"
  values_files = ["web-values.yaml"]
  values = {
    replicas = 2
    version  = var.version
  }
  atomic  = true
  timeout = "120s"
}

output "web_objects" { value = helm_release.web.objects }
output "web_revision" { value = helm_release.web.revision }
