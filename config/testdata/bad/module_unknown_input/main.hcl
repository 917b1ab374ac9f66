module "api" {
  source = "./modules/svc"
  name   = "api"
  prot   = 8080 # ERROR: Unsupported argument
}
