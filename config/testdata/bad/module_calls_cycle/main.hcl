module "a" {
  source = "./modules/m"
  in     = module.b.out
}
module "b" {
  source = "./modules/m"
  in     = module.a.out # ERROR: Dependency cycle between modules
}
