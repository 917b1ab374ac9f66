module "api" {
  source = "./modules/svc"
  port   = "eighty" # ERROR: Invalid value for module variable
  name   = "x" # ERROR: Invalid value for variable
}
