// TensorFlow V2 checkpoints ("tensor bundles"): the umbrella header. It
// includes the headers of the pieces, so code that includes it sees them all:
//   ckpt/bundle_writer.h  BundleWriter, BundleWriterOptions
//   ckpt/bundle_reader.h  BundleReader, BundleReaderOptions, BundleEntry,
//                         VariableInfo, ReadTarget
//   ckpt/merge.h          MergeBundles
//   ckpt/filenames.h      MetaFilename, DataFilename (how the files are named)
// New code should include the header of the piece it uses.
//
// A bundle with prefix P is the file P.index (a LevelDB-format table mapping
// tensor names to BundleEntryProto metadata, plus a header under key "") and
// one or more data files P.data-SSSSS-of-NNNNN holding the tensor bytes.
// docs/format/bundle.md describes the layout. Files written here are
// byte-identical to what TensorFlow's SaveV2 writes for the same tensors in
// the same order.
//
// Thread safety: see each piece's header.
#ifndef CKPT_BUNDLE_H_
#define CKPT_BUNDLE_H_

#include "ckpt/bundle_reader.h"
#include "ckpt/bundle_writer.h"
#include "ckpt/filenames.h"  // MetaFilename, DataFilename
#include "ckpt/merge.h"

#endif  // CKPT_BUNDLE_H_
