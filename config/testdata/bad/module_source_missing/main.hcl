module "api" {
  source = "./modules/nowhere" # ERROR: Module source not found
}
module "remote" {
  source = "git::https://example.com/mods.git//svc?ref=v1" # ERROR: Module not installed
}
