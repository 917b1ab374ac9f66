module "api" {
  source = "./modules/svc"
}
