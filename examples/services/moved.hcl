# Where each step of the copy-paste form (before/main.hcl) lives now. With
# these, a workspace applied from that form plans "has moved" for every step
# and runs nothing; on a fresh workspace they do nothing.

moved {
  from = docker_build.api
  to   = module.svc["api"].docker_build.image
}

moved {
  from = docker_run.api
  to   = module.svc["api"].docker_run.test
}

moved {
  from = docker_push.api
  to   = module.svc["api"].docker_push.image
}

moved {
  from = k8s_deploy.api
  to   = module.svc["api"].k8s_deploy.app
}

moved {
  from = k8s_wait.api
  to   = module.svc["api"].k8s_wait.app
}

moved {
  from = docker_build.web
  to   = module.svc["web"].docker_build.image
}

moved {
  from = docker_run.web
  to   = module.svc["web"].docker_run.test
}

moved {
  from = docker_push.web
  to   = module.svc["web"].docker_push.image
}

moved {
  from = k8s_deploy.web
  to   = module.svc["web"].k8s_deploy.app
}

moved {
  from = k8s_wait.web
  to   = module.svc["web"].k8s_wait.app
}

moved {
  from = docker_build.worker
  to   = module.svc["worker"].docker_build.image
}

moved {
  from = docker_run.worker
  to   = module.svc["worker"].docker_run.test
}

moved {
  from = docker_push.worker
  to   = module.svc["worker"].docker_push.image
}

moved {
  from = k8s_deploy.worker
  to   = module.svc["worker"].k8s_deploy.app
}

moved {
  from = k8s_wait.worker
  to   = module.svc["worker"].k8s_wait.app
}
