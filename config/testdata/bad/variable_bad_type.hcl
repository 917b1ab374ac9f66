variable "replicas" {
  type = integer # ERROR: Invalid type specification
}
