// Moving by drag and drop: a row dragged onto a folder's row moves there (with the
// other ticked rows, when it is ticked). Rows carry their ids in a type of their own,
// so the file manager's drop of files from the computer (uploads) never sees them;
// the Move… dialog does the same from the keyboard.

const TYPE = "application/x-lockr-entries";

function folderRow(event) {
  const row = event.target.closest && event.target.closest("tr[data-kind='folder']");
  return row && event.dataTransfer && event.dataTransfer.types.includes(TYPE) ? row : null;
}

/** Let the rows of ``body`` be dragged onto its folder rows. ``dragged(id)`` gives the
 * ids a drag of that row carries; ``dropped(ids, folderId)`` moves them. */
export function rowDragging(body, { dragged, dropped }) {
  let target = null;
  const mark = (row) => {
    if (target === row) return;
    if (target) target.classList.remove("drop-target");
    target = row;
    if (row) row.classList.add("drop-target");
  };
  body.addEventListener("dragstart", (event) => {
    const row = event.target.closest && event.target.closest("tr[data-id]");
    if (!row) return;
    event.dataTransfer.setData(TYPE, JSON.stringify(dragged(row.dataset.id)));
    event.dataTransfer.effectAllowed = "move";
  });
  body.addEventListener("dragover", (event) => {
    const row = folderRow(event);
    mark(row);
    if (!row) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
  });
  body.addEventListener("dragleave", (event) => {
    if (!body.contains(event.relatedTarget)) mark(null);
  });
  body.addEventListener("dragend", () => mark(null));
  body.addEventListener("drop", (event) => {
    const row = folderRow(event);
    mark(null);
    if (!row) return;
    event.preventDefault();
    event.stopPropagation();
    const ids = JSON.parse(event.dataTransfer.getData(TYPE)).filter((id) => id !== row.dataset.id);
    if (ids.length) dropped(ids, row.dataset.id);
  });
}
