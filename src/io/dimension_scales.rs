//! HDF5 dimension scales (the `H5DS` API of libhdf5's high-level library, `libhdf5_hl`):
//! marking a coordinate dataset as the scale of a dimension (`CLASS = "DIMENSION_SCALE"`,
//! `NAME`), attaching it to an axis of a dataset (`DIMENSION_LIST` on the dataset,
//! `REFERENCE_LIST` on the scale), and finding the scale attached to an axis. This is what h5py's `dset.dims[i][0]`, netCDF-4 and
//! h5netcdf follow from a dataset to its coordinates.
//!
//! `hdf5-sys` links `libhdf5_hl` (its `hl` feature) but declares none of its functions, so the
//! two used here are declared below. Every call goes through the `hdf5` crate's process-wide
//! lock. This module must not create datasets or decide which ones are coordinates.

use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_uint, c_void};

use hdf5::Dataset;
use hdf5_sys::h5::herr_t;
use hdf5_sys::h5i::hid_t;

extern "C" {
    fn H5DSset_scale(dsid: hid_t, dimname: *const c_char) -> herr_t;
    fn H5DSattach_scale(did: hid_t, dsid: hid_t, idx: c_uint) -> herr_t;
    fn H5DSget_num_scales(did: hid_t, idx: c_uint) -> c_int;
    fn H5DSiterate_scales(
        did: hid_t,
        dim: c_uint,
        idx: *mut c_int,
        visitor: Option<unsafe extern "C" fn(hid_t, c_uint, hid_t, *mut c_void) -> herr_t>,
        visitor_data: *mut c_void,
    ) -> herr_t;
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

/// Records the path of the scale it is called with and stops the iteration.
unsafe extern "C" fn first_scale_path(
    _did: hid_t,
    _dim: c_uint,
    scale: hid_t,
    out: *mut c_void,
) -> herr_t {
    // SAFETY: `out` is the `Option<String>` passed by `attached_scale`, alive for the call.
    let out = unsafe { &mut *out.cast::<Option<String>>() };
    let mut buf = vec![0u8; 1024];
    // SAFETY: `scale` is valid during the visit; the buffer has room for `buf.len()` bytes.
    let n = unsafe { hdf5_sys::h5i::H5Iget_name(scale, buf.as_mut_ptr().cast(), buf.len()) };
    if let Ok(n) = usize::try_from(n) {
        if n > 0 && n < buf.len() {
            *out = Some(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    1
}

/// The path (`/lat`) of the first dimension scale attached to axis `axis` of `data`.
pub(crate) fn attached_scale(data: &Dataset, axis: usize) -> Option<String> {
    let idx = c_uint::try_from(axis).ok()?;
    hdf5::sync::sync(|| {
        // SAFETY: `data` is an open dataset; libhdf5 checks `idx` against its rank.
        let count = unsafe { H5DSget_num_scales(data.id(), idx) };
        if count <= 0 {
            return None;
        }
        let mut out: Option<String> = None;
        // SAFETY: the visitor only writes `out`, which outlives the call.
        let rc = unsafe {
            H5DSiterate_scales(
                data.id(),
                idx,
                std::ptr::null_mut(),
                Some(first_scale_path),
                (&mut out as *mut Option<String>).cast(),
            )
        };
        if rc < 0 {
            None
        } else {
            out
        }
    })
}
