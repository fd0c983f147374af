// What was picked or dropped, as the files to upload and the folder each lands in:
// a folder from the picker (each file's webkitRelativePath), and files and folders
// dropped (the drop's file system entries, walked; folders left empty are named too).

export function join(folder, rest) {
  return [folder, rest].filter(Boolean).join("/");
}

/** The files of a folder the picker gave: each lands in its folder below ``base``. */
export function pickedFolder(files, base) {
  return files.map((file) => {
    const parts = (file.webkitRelativePath || file.name).split("/");
    return { file, folder: join(base, parts.slice(0, -1).join("/")) };
  });
}

function readAll(reader) {
  return new Promise((resolve, reject) => {
    const found = [];
    const more = () =>
      reader.readEntries((batch) => {
        if (!batch.length) resolve(found);
        else {
          found.push(...batch);
          more();
        }
      }, reject);
    more();
  });
}

/** The files (and folders left empty) of what was dropped, as entries of the page's
 *  file system API: ``{items: [{file, folder}], empty: [folder paths]}``. */
export async function dropped(entries, base) {
  const items = [];
  const empty = [];
  async function walk(entry, folder) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      items.push({ file, folder });
    } else if (entry.isDirectory) {
      const inside = join(folder, entry.name);
      const children = await readAll(entry.createReader());
      if (!children.length) empty.push(inside);
      for (const child of children) await walk(child, inside);
    }
  }
  for (const entry of entries) await walk(entry, base);
  return { items, empty };
}
