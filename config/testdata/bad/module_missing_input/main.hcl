module "api" { # ERROR: Missing required argument
  source = "./modules/svc"
}
