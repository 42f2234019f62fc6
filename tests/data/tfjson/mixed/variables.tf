variable "encrypted" {
  type    = bool
  default = false
}
