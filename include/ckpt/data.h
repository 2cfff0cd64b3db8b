// The data module in one include: ckpt/dataset.h (tf.data-style in-memory
// pipelines) and ckpt/iris.h (the Iris data set). Prefer including the one
// you use.
//
// Thread safety: as those headers.
#ifndef CKPT_DATA_H_
#define CKPT_DATA_H_

#include "ckpt/dataset.h"  // IWYU pragma: export
#include "ckpt/iris.h"     // IWYU pragma: export

#endif  // CKPT_DATA_H_
