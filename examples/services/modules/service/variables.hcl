# The inputs of one service. The caller passes the registry and cluster
# blocks it declares: a module sees only what it is given.

variable "name" {
  type        = string
  description = "Service name: the image name, the Deployment name and SERVICE in the image."
}

variable "tag" {
  type        = string
  description = "Image tag, usually the build number."
}

variable "port" {
  type        = number
  description = "Port the service listens on."
}

variable "replicas" {
  type    = number
  default = 1
}

variable "context" {
  type        = string
  description = "Build context of the image (a directory with a Dockerfile), relative to the pipeline."
}

variable "registry" {
  description = "The registry block to push to (registry.NAME)."
}

variable "cluster" {
  description = "The cluster block to deploy to (cluster.NAME)."
}
