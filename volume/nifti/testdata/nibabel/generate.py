# Regenerates the nibabel-written NIfTI files that nifti_test.go reads, and
# expected.json: the affine, dims and voxels nibabel itself reads back from
# each (data in Metascope order, i fastest). Run with Debian's python3 and
# python3-nibabel (5.0): /usr/bin/python3 generate.py
import json

import nibabel as nib
import numpy as np

rng = np.random.default_rng(1)
out = {}
R = nib.eulerangles.euler2mat(0.4, -0.3, 0.2)
A = np.eye(4)
A[:3, :3] = R @ np.diag([0.8, 1.2, 2.5])  # oblique, anisotropic
A[:3, 3] = [10, -20, 30]


def save(name, img):
    nib.save(img, name)
    back = nib.load(name)
    d = back.get_fdata().reshape(back.shape[:3])
    out[name] = {"Affine": back.affine.tolist(), "Dims": list(back.shape[:3]),
                 "Data": d.transpose(2, 1, 0).ravel().tolist()}


shape = (6, 5, 4)
for dt in ["uint8", "int8", "int16", "uint16", "int32", "uint32", "float32", "float64"]:
    save(f"nib_{dt}.nii.gz", nib.Nifti1Image((rng.random(shape) * 100).astype(dt), A))
img = nib.Nifti1Image((rng.random(shape) * 100).astype("int16"), None)
img.set_qform(A, code=1)
img.set_sform(None, code=0)
save("nib_qonly.nii", img)  # qform only
B = A.copy()
B[0, 3] = 55
img = nib.Nifti1Image((rng.random(shape) * 100).astype("int16"), A)
img.set_sform(B, code=2)
img.set_qform(A, code=1)
save("nib_sq.nii", img)  # sform and qform differ: sform wins
img = nib.Nifti1Image((rng.random(shape) * 100).astype("int16"), A)
img.header.set_slope_inter(0.5, 7)
save("nib_scaled.nii.gz", img)
save("nib_be.nii", nib.Nifti1Image((rng.random(shape) * 1000).astype(">f4"), A))  # big endian
save("nib_n2.nii.gz", nib.Nifti2Image((rng.random(shape) * 100).astype("float32"), A))
save("nib_pair.img", nib.Nifti1Pair((rng.random(shape) * 100).astype("int16"), A))
save("nib_4d1.nii.gz", nib.Nifti1Image((rng.random(shape + (1,)) * 100).astype("float32"), A))
json.dump(out, open("expected.json", "w"), indent=0)
