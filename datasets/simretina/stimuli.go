package simretina

import (
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register the JPEG decoder for Config.ImagesDir
	_ "image/png"  // register the PNG decoder for Config.ImagesDir
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/deepretina/deepretina/datasets"
)

// Stimulus generators of the simulated retina. All return movies in z-scored-ish intensity
// units (0 = mean grey, SD ≈ cfg.Contrast) and are deterministic given the configuration: white
// noise is generated in blocks of frames and natural scenes image by image, each block or image
// from its own random stream, so generation can run in parallel without changing the result.

// wnBlock is the number of white-noise frames drawn from one random stream.
const wnBlock = 1000

// whiteNoiseMovie returns T frames of checkerboard white noise: checks of cfg.CheckerPixels
// pixels, new independent values every frame, binary ±Contrast (binary) or Gaussian with SD
// Contrast. Block b of frames uses rng seeds drawn from seedRng (one draw per block, in order).
func whiteNoiseMovie(cfg Config, T int, binary bool, seedRng *rand.Rand) datasets.Movie {
	m := datasets.NewMovie(T, cfg.H, cfg.W)
	nb := (T + wnBlock - 1) / wnBlock
	seeds := make([][2]uint64, nb)
	for i := range seeds {
		seeds[i] = [2]uint64{seedRng.Uint64(), seedRng.Uint64()}
	}
	cp := cfg.CheckerPixels
	ch, cw := (cfg.H+cp-1)/cp, (cfg.W+cp-1)/cp
	c := float32(cfg.Contrast)
	parallel(nb, func(lo, hi int) {
		checks := make([]float32, ch*cw)
		for b := lo; b < hi; b++ {
			rng := rand.New(rand.NewPCG(seeds[b][0], seeds[b][1]))
			for t := b * wnBlock; t < min((b+1)*wnBlock, T); t++ {
				if binary {
					var bits uint64
					for i := range checks {
						if i%64 == 0 {
							bits = rng.Uint64()
						}
						if bits&1 == 1 {
							checks[i] = c
						} else {
							checks[i] = -c
						}
						bits >>= 1
					}
				} else {
					for i := range checks {
						checks[i] = c * float32(rng.NormFloat64())
					}
				}
				f := m.Frame(t)
				for y := 0; y < cfg.H; y++ {
					row := checks[(y/cp)*cw:]
					for x := 0; x < cfg.W; x++ {
						f[y*cfg.W+x] = row[x/cp]
					}
				}
			}
		}
	})
	return m
}

// grayImage is a single-channel image, row-major.
type grayImage struct {
	H, W int
	Pix  []float32
}

// Dead-leaves images: occluding discs with radii drawn from p(r) ∝ r⁻³ on [deadLeavesRMin,
// size/4] give a power spectrum ≈ 1/f² (amplitude ≈ 1/f), like natural images; the leaves'
// intensities are log-normal (natural luminance is skewed), normalised by their analytic mean
// and SD.
const (
	deadLeavesRMin  = 0.75
	deadLeavesSigma = 0.6 // SD of log intensity
)

// deadLeavesSize is the side of a dead-leaves image for an H×W field: large enough that the
// random walk explores it.
func deadLeavesSize(h, w int) int { return max(3*max(h, w), 64) }

// deadLeaves renders one size×size dead-leaves image, normalised to mean ≈ 0 and SD ≈ 1.
func deadLeaves(size int, rng *rand.Rand) grayImage {
	img := grayImage{H: size, W: size, Pix: make([]float32, size*size)}
	covered := make([]bool, size*size)
	left := size * size
	rmin, rmax := deadLeavesRMin, float64(size)/4
	a, b := 1/(rmin*rmin), 1/(rmax*rmax)
	s2 := deadLeavesSigma * deadLeavesSigma
	mean := math.Exp(s2 / 2)
	sd := math.Sqrt((math.Exp(s2) - 1) * math.Exp(s2))
	maxLeaves := 40 * size * size
	var last float32
	// Front to back: each new leaf only fills pixels not yet covered by a nearer leaf.
	for n := 0; left > 0 && n < maxLeaves; n++ {
		rad := 1 / math.Sqrt(a-rng.Float64()*(a-b))
		cy := -rad + rng.Float64()*(float64(size)+2*rad)
		cx := -rad + rng.Float64()*(float64(size)+2*rad)
		v := float32((math.Exp(deadLeavesSigma*rng.NormFloat64()) - mean) / sd)
		last = v
		y0, y1 := max(0, int(math.Ceil(cy-rad))), min(size-1, int(math.Floor(cy+rad)))
		x0, x1 := max(0, int(math.Ceil(cx-rad))), min(size-1, int(math.Floor(cx+rad)))
		for y := y0; y <= y1; y++ {
			dy := float64(y) - cy
			for x := x0; x <= x1; x++ {
				dx := float64(x) - cx
				if dx*dx+dy*dy > rad*rad {
					continue
				}
				i := y*size + x
				if !covered[i] {
					covered[i] = true
					img.Pix[i] = v
					left--
				}
			}
		}
	}
	if left > 0 {
		for i, c := range covered {
			if !c {
				img.Pix[i] = last
			}
		}
	}
	return img
}

// jitterWalk fills frames [T, H, W] with views of img along a random walk (eye-movement-like
// jitter): each frame the view's top-left corner moves by N(0, jitter²) pixels in each
// direction, reflected at the image border and rounded to whole pixels. The image is scaled by
// contrast.
func jitterWalk(dst datasets.Movie, img grayImage, jitter, contrast float64, rng *rand.Rand) {
	my, mx := float64(img.H-dst.H), float64(img.W-dst.W)
	py, px := rng.Float64()*my, rng.Float64()*mx
	c := float32(contrast)
	for t := 0; t < dst.T; t++ {
		if t > 0 {
			py = reflectInto(py+jitter*rng.NormFloat64(), my)
			px = reflectInto(px+jitter*rng.NormFloat64(), mx)
		}
		oy, ox := int(math.Round(py)), int(math.Round(px))
		f := dst.Frame(t)
		for y := 0; y < dst.H; y++ {
			src := img.Pix[(oy+y)*img.W+ox : (oy+y)*img.W+ox+dst.W]
			row := f[y*dst.W : (y+1)*dst.W]
			for x := range row {
				row[x] = c * src[x]
			}
		}
	}
}

// reflectInto folds p into [0, hi].
func reflectInto(p, hi float64) float64 {
	if hi <= 0 {
		return 0
	}
	for p < 0 || p > hi {
		if p < 0 {
			p = -p
		}
		if p > hi {
			p = 2*hi - p
		}
	}
	return p
}

// naturalSceneMovie returns T frames of natural scenes: a new image every
// round(cfg.ImageSeconds·FrameRate) frames, viewed through a jittering random walk, each at
// the contrast segmentContrast gives it, with cfg.MovingObjects objects moving over it
// (addMovingObjects). Images are procedural dead leaves, or (photos != nil) drawn at random
// from photos. The random streams are derived from tag, one per image, and the objects' from
// tag + "/objects", so the images and their paths do not depend on MovingObjects.
func naturalSceneMovie(cfg Config, T int, tag string, photos []grayImage) datasets.Movie {
	return naturalSceneMovieOwners(cfg, T, tag, photos, nil)
}

// naturalSceneMovieOwners is naturalSceneMovie; owner, when not nil (T·H·W values), receives
// for each pixel of each frame the index of the moving object that covers it, −1 for the
// background, so that the tests can measure each region's motion.
func naturalSceneMovieOwners(cfg Config, T int, tag string, photos []grayImage, owner []int8) datasets.Movie {
	m := datasets.NewMovie(T, cfg.H, cfg.W)
	per := max(1, int(math.Round(cfg.ImageSeconds*cfg.FrameRate)))
	nImg := (T + per - 1) / per
	size := deadLeavesSize(cfg.H, cfg.W)
	hw := cfg.H * cfg.W
	parallel(nImg, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			rng := cfg.stream(tag, uint64(k))
			img := sceneImage(photos, size, rng)
			view := m.Slice(k*per, min((k+1)*per, T))
			contrast := segmentContrast(cfg, tag, k)
			jitterWalk(view, img, cfg.JitterPixels, contrast, rng)
			if cfg.MovingObjects > 0 {
				orng := cfg.stream(tag+"/objects", uint64(k))
				layer := sceneImage(photos, size, orng)
				var own []int8
				if owner != nil {
					own = owner[k*per*hw : min((k+1)*per, T)*hw]
				}
				addMovingObjects(view, layer, cfg.MovingObjects, cfg.JitterPixels, contrast, orng, own)
			}
		}
	})
	return m
}

// sceneImage draws one image for a stretch of natural scenes (or a moving object's texture):
// a photo at random when photos are given, else a procedural dead-leaves image of side size.
func sceneImage(photos []grayImage, size int, rng *rand.Rand) grayImage {
	if len(photos) > 0 {
		return photos[rng.IntN(len(photos))]
	}
	return deadLeaves(size, rng)
}

// objectRadii is the range of the moving objects' radii in an H×W field: from a tenth to a
// quarter of the field's larger side (2–5 px on the small preset's 20 px). The leaves' own
// lower end (deadLeavesRMin) would give specks smaller than a receptive-field centre, which
// cannot move differently from its surround on one; the upper end is the dead-leaves image's
// (its side / 4) scaled to the field, so an object never covers the whole field and leaves a
// background to move against. The battery's object disc (phenomena.ObjectMotionExperiment, at
// least 5 px) lies in the range.
func objectRadii(h, w int) (lo, hi float64) {
	m := float64(max(h, w))
	return m / 10, m / 4
}

// MaxMovingObjects bounds Config.MovingObjects: more would cover the field (and the tests'
// owner map is int8).
const MaxMovingObjects = 100

// addMovingObjects paints n moving objects over dst, the frames of one image's view: object j
// is a disc of radius r_j, drawn from the dead-leaves law p(r) ∝ r⁻³ on objectRadii, textured
// with the disc of layer (a dead-leaves image or photo of its own) at a random place, and
// scaled by contrast like the image. Its centre starts uniformly in the field and moves by
// N(0, jitter²) pixels in each direction every frame, the background's step statistics on an
// independent path, reflected at the field's border so that it stays in view, and rounded to
// whole pixels; the texture moves rigidly with it. Objects occlude the image and those drawn
// before them. This is the stimulus of Ölveczky, Baccus & Meister (2003, Nature 423:401):
// object and background follow independent jitter paths, which in natural viewing come from
// objects moving in the world while the eye jitters (fixational eye movements move the whole
// image; an object's own motion adds to its part alone). owner, when not nil, receives for
// each pixel the index of the object covering it or −1.
func addMovingObjects(dst datasets.Movie, layer grayImage, n int, jitter, contrast float64, rng *rand.Rand, owner []int8) {
	type object struct {
		r, cy, cx float64
		ty, tx    int // the texture's centre in layer
	}
	lo, hi := objectRadii(dst.H, dst.W)
	hi = max(lo, min(hi, float64(min(layer.H, layer.W)-1)/2))
	a, b := 1/(lo*lo), 1/(hi*hi)
	objs := make([]object, n)
	for j := range objs {
		o := &objs[j]
		o.r = 1 / math.Sqrt(a-rng.Float64()*(a-b))
		ri := int(math.Floor(o.r))
		o.ty = ri + rng.IntN(max(1, layer.H-2*ri))
		o.tx = ri + rng.IntN(max(1, layer.W-2*ri))
		o.cy = rng.Float64() * float64(dst.H-1)
		o.cx = rng.Float64() * float64(dst.W-1)
	}
	c := float32(contrast)
	hw := dst.H * dst.W
	for i := range owner {
		owner[i] = -1
	}
	for t := 0; t < dst.T; t++ {
		f := dst.Frame(t)
		for j := range objs {
			o := &objs[j]
			if t > 0 {
				o.cy = reflectInto(o.cy+jitter*rng.NormFloat64(), float64(dst.H-1))
				o.cx = reflectInto(o.cx+jitter*rng.NormFloat64(), float64(dst.W-1))
			}
			iy, ix := int(math.Round(o.cy)), int(math.Round(o.cx))
			ri := int(math.Floor(o.r))
			for dy := -ri; dy <= ri; dy++ {
				y := iy + dy
				if y < 0 || y >= dst.H {
					continue
				}
				for dx := -ri; dx <= ri; dx++ {
					x := ix + dx
					if x < 0 || x >= dst.W || float64(dy*dy+dx*dx) > o.r*o.r {
						continue
					}
					f[y*dst.W+x] = c * layer.Pix[(o.ty+dy)*layer.W+o.tx+dx]
					if owner != nil {
						owner[t*hw+y*dst.W+x] = int8(j)
					}
				}
			}
		}
	}
}

// objectsDescription is the provenance's note of the moving objects: empty when off.
func objectsDescription(cfg Config) string {
	if cfg.MovingObjects <= 0 {
		return ""
	}
	lo, hi := objectRadii(cfg.H, cfg.W)
	return fmt.Sprintf(" with %d independently moving objects per image (radius %g–%g px)", cfg.MovingObjects, lo, hi)
}

// segmentContrast is the contrast of segment k (an image of natural scenes, a block of
// wnBlock frames of white noise) of the movie tagged tag: cfg.Contrast, or with
// cfg.ContrastRange > 1 cfg.Contrast·ContrastRange^−u, u ~ U(0, 1) from a stream of its own
// (tag + "/contrast", k), so that the movie's own streams are unchanged.
func segmentContrast(cfg Config, tag string, k int) float64 {
	if !(cfg.ContrastRange > 1) {
		return cfg.Contrast
	}
	u := cfg.stream(tag+"/contrast", uint64(k)).Float64()
	return cfg.Contrast * math.Pow(cfg.ContrastRange, -u)
}

// varyNoiseContrast scales each block of wnBlock frames of a white-noise recording's movie
// (tagged tag) to its segmentContrast; nothing with ContrastRange off. The white noise that
// calibrates the retina and drives the interneuron files never passes here.
func varyNoiseContrast(cfg Config, m datasets.Movie, tag string) {
	if !(cfg.ContrastRange > 1) {
		return
	}
	for b := 0; b*wnBlock < m.T; b++ {
		f := float32(segmentContrast(cfg, tag, b) / cfg.Contrast)
		blk := m.Slice(b*wnBlock, min((b+1)*wnBlock, m.T))
		for i := range blk.Data {
			blk.Data[i] *= f
		}
	}
}

// ErrImages marks errors about the folder of photographs (Config.ImagesDir), so that a
// caller can name its own option for it (the CLI's --images).
var ErrImages = errors.New("images folder")

// loadPhotos reads every PNG/JPEG image in dir (sorted by name), converts it to luminance,
// shrinks it by an integer box-average factor so that its shorter side stays ≥ 3·max(H, W)
// (when it is larger than that), and normalises all images together to mean 0 and SD 1.
// Images smaller than H+2 × W+2 are skipped; it is an error when none is usable.
func loadPhotos(dir string, h, w int) ([]grayImage, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrImages, dir, err)
	}
	var names []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var imgs []grayImage
	for _, name := range names {
		g, err := readGray(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%w %s: image %s: %w", ErrImages, dir, filepath.Join(dir, name), err)
		}
		f := max(1, min(g.H, g.W)/(3*max(h, w)))
		g = shrink(g, f)
		if g.H < h+2 || g.W < w+2 {
			continue
		}
		imgs = append(imgs, g)
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("%w %s: holds no PNG or JPEG image of at least %dx%d pixels", ErrImages, dir, h+2, w+2)
	}
	var s, s2, n float64
	for _, g := range imgs {
		for _, v := range g.Pix {
			s += float64(v)
			s2 += float64(v) * float64(v)
		}
		n += float64(len(g.Pix))
	}
	mean := s / n
	sd := math.Sqrt(math.Max(s2/n-mean*mean, 1e-12))
	for _, g := range imgs {
		for i, v := range g.Pix {
			g.Pix[i] = float32((float64(v) - mean) / sd)
		}
	}
	return imgs, nil
}

func readGray(path string) (grayImage, error) {
	f, err := os.Open(path)
	if err != nil {
		return grayImage{}, err
	}
	defer f.Close()
	im, _, err := image.Decode(f)
	if err != nil {
		return grayImage{}, err
	}
	bd := im.Bounds()
	g := grayImage{H: bd.Dy(), W: bd.Dx(), Pix: make([]float32, bd.Dx()*bd.Dy())}
	for y := 0; y < g.H; y++ {
		for x := 0; x < g.W; x++ {
			r, gg, b, _ := im.At(bd.Min.X+x, bd.Min.Y+y).RGBA()
			g.Pix[y*g.W+x] = float32(0.299*float64(r)+0.587*float64(gg)+0.114*float64(b)) / 65535
		}
	}
	return g, nil
}

// shrink box-averages g by an integer factor f.
func shrink(g grayImage, f int) grayImage {
	if f <= 1 {
		return g
	}
	out := grayImage{H: g.H / f, W: g.W / f}
	out.Pix = make([]float32, out.H*out.W)
	inv := 1 / float32(f*f)
	for y := 0; y < out.H; y++ {
		for x := 0; x < out.W; x++ {
			s := float32(0)
			for dy := 0; dy < f; dy++ {
				for dx := 0; dx < f; dx++ {
					s += g.Pix[(y*f+dy)*g.W+x*f+dx]
				}
			}
			out.Pix[y*out.W+x] = s * inv
		}
	}
	return out
}

// flashesMovie returns full-field flashes: cycles of mean grey, +amp, grey, −amp, each phase
// `phase` frames, repeated to T frames.
func flashesMovie(h, w, T, phase int, amp float32) datasets.Movie {
	m := datasets.NewMovie(T, h, w)
	levels := [4]float32{0, amp, 0, -amp}
	for t := 0; t < T; t++ {
		v := levels[(t/phase)%4]
		f := m.Frame(t)
		for i := range f {
			f[i] = v
		}
	}
	return m
}
