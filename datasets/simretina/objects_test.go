package simretina

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
)

// movieSHA256 is the SHA-256 of a movie's float32 values, little-endian.
func movieSHA256(m datasets.Movie) string {
	h := sha256.New()
	if err := binary.Write(h, binary.LittleEndian, m.Data); err != nil {
		panic(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// With MovingObjects off the natural-scene movie is byte for byte the one simulated before the
// option existed, so existing seeds keep their data. The digests were computed at commit
// 1fb3977 (main before MovingObjects) from the same call: small preset, seed 1, 3000 frames.
func TestMovingObjectsOffUnchanged(t *testing.T) {
	cfg, _ := Preset("small")
	want := map[string]string{
		"naturalscene/train": "cc9839f170d0433b100130f3778cd6b8c3366dbc097b727fbcb9f0ba63bfe365",
		"naturalscene/test":  "9f61d1e1932f201a7b1bc20ebf6abc3a9eda67603657a918d0a00f33ecc8b135",
	}
	for tag, sum := range want {
		if got := movieSHA256(naturalSceneMovie(cfg, 3000, tag, nil)); got != sum {
			t.Errorf("%s: movie SHA-256 %s with MovingObjects 0; expected %s, the movie before the option", tag, got, sum)
		}
	}
	if d := objectsDescription(cfg); d != "" {
		t.Errorf("provenance note %q with MovingObjects 0; expected none, so the provenance is unchanged", d)
	}
}

// frameShift measures the motion of one region between frames prev and cur of an H×W movie:
// the integer shift (sy, sx), |sy|, |sx| ≤ 3, for which cur(y, x) = prev(y+sy, x+sx) at every
// pixel of the region (in(y, x) at cur and inPrev(y+sy, x+sx) at prev), compared over at least
// 6 pixels. ok is false when no shift or more than one shift matches exactly (a uniform patch,
// or too little overlap): the motion is then not determined by the pixels.
func frameShift(prev, cur []float32, h, w int, in, inPrev func(y, x int) bool) (sy, sx int, ok bool) {
	found := 0
	for dy := -3; dy <= 3; dy++ {
		for dx := -3; dx <= 3; dx++ {
			n, match := 0, true
			for y := 0; y < h && match; y++ {
				for x := 0; x < w; x++ {
					py, px := y+dy, x+dx
					if !in(y, x) || py < 0 || py >= h || px < 0 || px >= w || !inPrev(py, px) {
						continue
					}
					n++
					if cur[y*w+x] != prev[py*w+px] {
						match = false
						break
					}
				}
			}
			if match && n >= 6 {
				found++
				sy, sx = dy, dx
			}
		}
	}
	return sy, sx, found == 1
}

// MovingObjects puts objects over the images that move differently from them. Measured on the
// movie itself: each frame's shift of each object's pixels and of the background (frameShift),
// over 20 images. The background outside the objects is the movie without objects, exactly;
// the movie is a function of the seed; the objects' shifts are uncorrelated with the
// background's, differ from it in many frames, and have the background's step statistics. The
// control: the same measure on the two halves of the background finds them moving together.
func TestMovingObjects(t *testing.T) {
	cfg, _ := Preset("small")
	const T = 3000
	per := cfg.frames(cfg.ImageSeconds)
	h, w, hw := cfg.H, cfg.W, cfg.H*cfg.W
	off := naturalSceneMovie(cfg, T, "naturalscene/train", nil)
	on := cfg
	on.MovingObjects = 3
	owner := make([]int8, T*hw)
	m := naturalSceneMovieOwners(on, T, "naturalscene/train", nil, owner)
	if again := naturalSceneMovie(on, T, "naturalscene/train", nil); !slices.Equal(again.Data, m.Data) {
		t.Fatal("two movies with the same seed differ")
	}
	seed2 := on
	seed2.Seed = 2
	if other := naturalSceneMovie(seed2, T, "naturalscene/train", nil); slices.Equal(other.Data, m.Data) {
		t.Error("seeds 1 and 2 gave the same movie")
	}
	covered := 0
	for i, o := range owner {
		if o < 0 {
			if m.Data[i] != off.Data[i] {
				t.Fatalf("value %d: background %v, expected %v, the movie without objects", i, m.Data[i], off.Data[i])
			}
		} else {
			covered++
			if int(o) >= on.MovingObjects {
				t.Fatalf("value %d: owner %d of %d objects", i, o, on.MovingObjects)
			}
		}
	}
	t.Logf("objects cover %.3f of the pixels", float64(covered)/float64(len(owner)))
	if f := float64(covered) / float64(len(owner)); f < 0.05 || f > 0.6 {
		t.Errorf("objects cover %.3f of the pixels; expected a part of the field (0.05–0.6)", f)
	}

	all := func(y, x int) bool { return true }
	var pairs, differ, agree, halves int
	var sObj, sBg, sObjBg, vObj, vBg float64
	for ti := 1; ti < T; ti++ {
		if ti%per == 0 { // a new image: no motion to measure
			continue
		}
		by, bx, bok := frameShift(off.Frame(ti-1), off.Frame(ti), h, w, all, all)
		// Control: the left and right halves of the background, measured apart.
		ly, lx, lok := frameShift(off.Frame(ti-1), off.Frame(ti), h, w, func(y, x int) bool { return x < w/2 }, all)
		ry, rx, rok := frameShift(off.Frame(ti-1), off.Frame(ti), h, w, func(y, x int) bool { return x >= w/2 }, all)
		if lok && rok {
			halves++
			if ly == ry && lx == rx {
				agree++
			}
		}
		if !bok {
			continue
		}
		own, ownPrev := owner[ti*hw:(ti+1)*hw], owner[(ti-1)*hw:ti*hw]
		for j := int8(0); j < int8(on.MovingObjects); j++ {
			oy, ox, ok := frameShift(m.Frame(ti-1), m.Frame(ti), h, w,
				func(y, x int) bool { return own[y*w+x] == j }, func(y, x int) bool { return ownPrev[y*w+x] == j })
			if !ok {
				continue
			}
			pairs++
			if oy != by || ox != bx {
				differ++
			}
			sObj += float64(ox + oy)
			sBg += float64(bx + by)
			sObjBg += float64(ox*bx + oy*by)
			vObj += float64(ox*ox + oy*oy)
			vBg += float64(bx*bx + by*by)
		}
	}
	if halves < 1000 || float64(agree) < 0.98*float64(halves) {
		t.Fatalf("control: the background's halves moved alike in %d of %d frames; expected ≥ 98%% of ≥ 1000: the measure cannot be trusted", agree, halves)
	}
	if pairs < 1000 {
		t.Fatalf("object motion determined in %d object-frames; expected ≥ 1000", pairs)
	}
	n := 2 * float64(pairs) // y and x components
	cov := sObjBg/n - (sObj/n)*(sBg/n)
	varObj, varBg := vObj/n-(sObj/n)*(sObj/n), vBg/n-(sBg/n)*(sBg/n)
	r := cov / math.Sqrt(varObj*varBg)
	t.Logf("object-frames %d: shift differs from the background's in %.2f; correlation %.3f; step variance object %.3f, background %.3f px²; control: halves agree in %d/%d",
		pairs, float64(differ)/float64(pairs), r, varObj, varBg, agree, halves)
	if f := float64(differ) / float64(pairs); f < 0.3 {
		t.Errorf("objects moved differently from the background in %.2f of the frames; expected ≥ 0.3", f)
	}
	if math.Abs(r) > 0.1 {
		t.Errorf("correlation of object and background shifts %.3f; expected independent paths (|r| ≤ 0.1)", r)
	}
	if ratio := varObj / varBg; ratio < 0.7 || ratio > 1.4 {
		t.Errorf("step variance object %.3f, background %.3f px² (ratio %.2f); expected the same step statistics (0.7–1.4)", varObj, varBg, ratio)
	}
}

// Simulate with MovingObjects writes it into the provenance; a bad count is refused naming the
// field and the range (TestConfigValidate covers both ends).
func TestMovingObjectsProvenance(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.MovingObjects = 2
	sim, err := Simulate(cfg, []string{datasets.NaturalScene}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := sim.Recordings[datasets.NaturalScene].Provenance; !strings.Contains(p, "2 independently moving objects per image") {
		t.Errorf("provenance %q does not mention the moving objects", p)
	}
	cfg.MovingObjects = -1
	if _, err := Simulate(cfg, []string{datasets.NaturalScene}, nil); err == nil || !strings.Contains(err.Error(), "MovingObjects") || !strings.Contains(err.Error(), "from 0 (off) to") {
		t.Errorf("MovingObjects -1: expected an error naming the field and the range, got %v", err)
	}
}
