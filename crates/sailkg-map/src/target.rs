//! RML-IO logical targets: files that receive the quads made with term maps naming them, in
//! their own serialisation, encoding and compression. Each is written to a temporary file and
//! moved into place when the run succeeds.

use crate::error::{Location, Result};
use crate::plan::{Compression, TargetSpec};
use oxigraph::io::{RdfSerializer, WriterQuadSerializer};
use oxigraph::model::QuadRef;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

struct Open {
    spec: TargetSpec,
    temporary: PathBuf,
    serializer: WriterQuadSerializer<BufWriter<File>>,
}

/// The open targets of one run.
pub(crate) struct Targets {
    open: Vec<Open>,
    at: Location,
}

impl Targets {
    pub fn open(specs: &[TargetSpec], at: &Location) -> Result<Self> {
        let mut open = Vec::with_capacity(specs.len());
        for spec in specs {
            let name = spec.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let temporary = spec.path.with_file_name(format!(".{name}.partial"));
            if let Some(dir) = temporary.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| at.error(format!("cannot create {}: {e}", dir.display())))?;
            }
            let file = File::create(&temporary)
                .map_err(|e| at.error(format!("cannot create target {}: {e}", temporary.display())))?;
            let serializer = RdfSerializer::from_format(spec.format).for_writer(BufWriter::new(file));
            open.push(Open { spec: spec.clone(), temporary, serializer });
        }
        Ok(Self { open, at: at.clone() })
    }

    pub fn write(&mut self, quad: QuadRef<'_>, targets: &[usize]) -> Result<()> {
        for &t in targets {
            let target = &mut self.open[t];
            if !target.spec.format.supports_datasets() && !quad.graph_name.is_default_graph() {
                return Err(self.at.error(format!(
                    "target {} is {}, which has no named graphs, but the quad is in {}",
                    target.spec.path.display(),
                    target.spec.format.name(),
                    quad.graph_name
                )));
            }
            target.serializer.serialize_quad(quad).map_err(|e| {
                self.at.error(format!("cannot write target {}: {e}", target.spec.path.display()))
            })?;
        }
        Ok(())
    }

    /// Completes every target and moves it into place.
    pub fn finish(self) -> Result<()> {
        let at = self.at;
        for target in self.open {
            let fail = |e: &dyn std::fmt::Display| {
                at.error(format!("cannot write target {}: {e}", target.spec.path.display()))
            };
            target.serializer.finish().map_err(|e| fail(&e))?.flush().map_err(|e| fail(&e))?;
            if target.spec.compression == Compression::None && !target.spec.utf16 {
                std::fs::rename(&target.temporary, &target.spec.path).map_err(|e| fail(&e))?;
                continue;
            }
            let mut bytes = Vec::new();
            File::open(&target.temporary)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(|e| fail(&e))?;
            std::fs::remove_file(&target.temporary).ok();
            if target.spec.utf16 {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                bytes = vec![0xff, 0xfe];
                for unit in text.encode_utf16() {
                    bytes.extend_from_slice(&unit.to_le_bytes());
                }
            }
            let inner = inner_name(&target.spec.path);
            let packed = match target.spec.compression {
                Compression::None => bytes,
                Compression::Gzip => gzip(&bytes).map_err(|e| fail(&e))?,
                Compression::TarGzip => {
                    gzip(&tar(&inner, &bytes).map_err(|e| fail(&e))?).map_err(|e| fail(&e))?
                }
                Compression::TarXz => {
                    let archive = tar(&inner, &bytes).map_err(|e| fail(&e))?;
                    let mut out = Vec::new();
                    lzma_rs::xz_compress(&mut archive.as_slice(), &mut out).map_err(|e| fail(&e))?;
                    out
                }
                Compression::Zip => zip(&inner, &bytes),
            };
            std::fs::write(&target.spec.path, packed).map_err(|e| fail(&e))?;
        }
        Ok(())
    }

    /// Removes the partial files of a failed run.
    pub fn abandon(self) {
        for target in self.open {
            drop(target.serializer);
            std::fs::remove_file(&target.temporary).ok();
        }
    }
}

/// The name of the file inside an archive: the target's name without the archive extensions.
fn inner_name(path: &std::path::Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for suffix in [".tar.gz", ".tar.xz", ".zip", ".gz"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return stem.to_owned();
        }
    }
    name
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn tar(name: &str, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, name, bytes)?;
    builder.into_inner()
}

/// A zip archive of one deflated file.
fn zip(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    let crc = crc.sum();
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).ok();
    let data = encoder.finish().unwrap_or_default();
    let name = name.as_bytes();
    let mut out = Vec::new();
    let le16 = |out: &mut Vec<u8>, v: u16| out.extend_from_slice(&v.to_le_bytes());
    let le32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    // Local file header.
    le32(&mut out, 0x0403_4b50);
    for v in [20u16, 0, 8, 0, 0x21] {
        le16(&mut out, v);
    }
    le32(&mut out, crc);
    le32(&mut out, data.len() as u32);
    le32(&mut out, bytes.len() as u32);
    le16(&mut out, name.len() as u16);
    le16(&mut out, 0);
    out.extend_from_slice(name);
    out.extend_from_slice(&data);
    let directory = out.len() as u32;
    // Central directory entry.
    le32(&mut out, 0x0201_4b50);
    for v in [20u16, 20, 0, 8, 0, 0x21] {
        le16(&mut out, v);
    }
    le32(&mut out, crc);
    le32(&mut out, data.len() as u32);
    le32(&mut out, bytes.len() as u32);
    le16(&mut out, name.len() as u16);
    for v in [0u16, 0, 0, 0] {
        le16(&mut out, v);
    }
    le32(&mut out, 0o100644 << 16);
    le32(&mut out, 0);
    out.extend_from_slice(name);
    let size = out.len() as u32 - directory;
    // End of central directory.
    le32(&mut out, 0x0605_4b50);
    for v in [0u16, 0, 1, 1] {
        le16(&mut out, v);
    }
    le32(&mut out, size);
    le32(&mut out, directory);
    le16(&mut out, 0);
    out
}
