# Converted by `ansflow convert` from seed.yaml (pipeline "Full Stack Deployment Pipeline").

variable "build_number" {
  type = string
}

registry "main" {
  # Stored AnsFlow registry 1: add username and password if it needs credentials.
  address = "registry.example.com"
}

cluster "default" {
  # Stored AnsFlow cluster 1: set kubeconfig and context to reach it (default: KUBECONFIG or ~/.kube/config, current context).
  namespace = "development"
}

# Build Application Image (order 1)
docker_build "build_application_image" {
  image      = "my-app"
  tag        = var.build_number
  context    = "."
  dockerfile = "Dockerfile"
  build_args = {
    NODE_ENV = "production"
    VERSION  = git.commit
  }
}

# Run Unit Tests (order 2)
docker_run "run_unit_tests" {
  image   = docker_build.build_application_image.ref
  command = ["npm", "test"]
  env = {
    CI = "true"
  }
  remove = true
}

# Push to Registry (order 3)
docker_push "push_to_registry" {
  image      = docker_build.build_application_image.ref
  registry   = registry.main
  depends_on = [docker_run.run_unit_tests]
}

# Deploy to Development (order 4)
k8s_deploy "deploy_to_development" {
  cluster  = cluster.default
  name     = "my-app"
  image    = docker_push.push_to_registry.ref
  replicas = 2
  ports    = [{ container_port = 8080 }]
  env = {
    NODE_ENV = "production"
    VERSION  = var.build_number
  }
}

# Wait for Deployment (order 5)
k8s_wait "wait_for_deployment" {
  kind      = "deployment"
  name      = k8s_deploy.deploy_to_development.name
  condition = "available"
  timeout   = "300s"
}

# Run Integration Tests (order 6)
k8s_exec "run_integration_tests" {
  pod_selector = "app=my-app"
  container    = "my-app"
  command      = ["python", "-m", "pytest", "tests/integration/"]
  depends_on   = [k8s_wait.wait_for_deployment]
}

# Scale for Production (order 7)
k8s_scale "scale_for_production" {
  when       = git.branch == "main"
  name       = k8s_deploy.deploy_to_development.name
  replicas   = 5
  depends_on = [k8s_exec.run_integration_tests]
}
