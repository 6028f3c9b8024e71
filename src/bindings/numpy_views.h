// Zero-copy numpy views over a memory map. The view's base is a capsule holding a
// reference to the MappedFile, so the mapping lives as long as any view of it.
#pragma once

#include <memory>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "formats/mmap.h"

namespace lockstep::bindings {

inline pybind11::array mapped_view(const std::shared_ptr<const MappedFile>& file, uint64_t offset,
                                   const pybind11::dtype& dtype, const std::vector<pybind11::ssize_t>& shape) {
    auto* owner = new std::shared_ptr<const MappedFile>(file);
    pybind11::capsule base(owner, [](void* p) { delete static_cast<std::shared_ptr<const MappedFile>*>(p); });
    // The map is read-only (PROT_READ): the view must not be writeable.
    pybind11::array view(dtype, shape, {}, file->data() + offset, base);
    pybind11::detail::array_proxy(view.ptr())->flags &= ~pybind11::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    return view;
}

}  // namespace lockstep::bindings
