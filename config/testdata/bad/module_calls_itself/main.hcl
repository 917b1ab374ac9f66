module "loop" {
  source = "./modules/m"
}
