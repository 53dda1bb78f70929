module ck26

go 1.26

require github.com/gomlx/gomlx v0.26.0
