variable "tag" { default = "dev" }
