variable "env" {
  type    = string
  default = "qa"
  validation {
    condition     = contains(["dev", "prod"], var.env) # ERROR: Invalid value for variable
    error_message = "env must be dev or prod."
  }
}
