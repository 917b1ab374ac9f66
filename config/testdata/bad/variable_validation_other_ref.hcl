variable "other" { default = "x" }

variable "env" {
  default = "dev"
  validation {
    condition     = var.env != var.other # ERROR: Invalid reference in variable validation
    error_message = "env must differ from other."
  }
}
