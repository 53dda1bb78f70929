package retina

// Internals that this package's external tests (package retina_test, which may import torchio)
// call.
var (
	NewTrainStep    = newTrainStep
	NewAdam         = newAdam
	AddTrainingLoss = addTrainingLoss
	ScalarOf        = scalarOf
)
