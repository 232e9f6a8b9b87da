//! HDF5 dimension scales (the `H5DS` API of libhdf5's high-level library, `libhdf5_hl`):
//! marking a coordinate dataset as the scale of a dimension (`CLASS = "DIMENSION_SCALE"`,
//! `NAME`) and attaching it to an axis of a dataset (`DIMENSION_LIST` on the dataset,
//! `REFERENCE_LIST` on the scale). This is what h5py's `dset.dims[i][0]`, netCDF-4 and
//! h5netcdf follow from a dataset to its coordinates.
//!
//! `hdf5-sys` links `libhdf5_hl` (its `hl` feature) but declares none of its functions, so the
//! two used here are declared below. Every call goes through the `hdf5` crate's process-wide
//! lock. This module must not create datasets or decide which ones are coordinates.

use std::ffi::CString;
use std::os::raw::{c_char, c_uint};

use hdf5::Dataset;
use hdf5_sys::h5::herr_t;
use hdf5_sys::h5i::hid_t;

extern "C" {
    fn H5DSset_scale(dsid: hid_t, dimname: *const c_char) -> herr_t;
    fn H5DSattach_scale(did: hid_t, dsid: hid_t, idx: c_uint) -> herr_t;
}

/// Makes `scale` a dimension scale named `name` (its `CLASS` and `NAME` attributes).
pub(crate) fn set_scale(scale: &Dataset, name: &str) -> Result<(), String> {
    let cname = CString::new(name).map_err(|_| format!("dimension name {name:?} holds a NUL"))?;
    let rc = hdf5::sync::sync(|| {
        // SAFETY: `scale` is an open dataset and `cname` outlives the call.
        unsafe { H5DSset_scale(scale.id(), cname.as_ptr()) }
    });
    if rc < 0 {
        return Err(format!("H5DSset_scale({name}) failed"));
    }
    Ok(())
}

/// Attaches the dimension scale `scale` to axis `axis` of `data`.
pub(crate) fn attach_scale(data: &Dataset, scale: &Dataset, axis: usize) -> Result<(), String> {
    let idx = c_uint::try_from(axis).map_err(|_| format!("axis {axis} is out of range"))?;
    let rc = hdf5::sync::sync(|| {
        // SAFETY: both are open datasets of the same file; `idx` is below the rank of `data`
        // (libhdf5 checks it and fails otherwise).
        unsafe { H5DSattach_scale(data.id(), scale.id(), idx) }
    });
    if rc < 0 {
        return Err(format!("H5DSattach_scale(axis {axis}) failed"));
    }
    Ok(())
}
