variable "tag" {
  default = "dev"
  validation { # ERROR: Missing required argument
    error_message = "bad tag"
  }
}
