package training

import (
	"context"
	"testing"
)

func TestSmokeTrain(t *testing.T) {
	cases := testCases(t, 4)
	o := tinyOptions()
	d := &Dataset{Source: "test", Kind: "phantom", Train: cases}
	res, err := Train(context.Background(), d, o, RunOptions{OutDir: t.TempDir(), Name: "t", Progress: func(p Progress) { t.Logf("%+v", p) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Folds {
		t.Logf("fold %d %+v", f.Fold, f.History)
	}
}
