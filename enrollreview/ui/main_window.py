"""The main window: menus, the queue / search / files tabs, the member view, background imports."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from .. import ui_queries as uq
from ..about import version_text
from ..ingest import ImportResult
from ..paths import demo_dir
from . import audit_view, crash, dialogs, export_dialog, roster_dialog, style
from .files_panel import FilesPanel
from .history_panel import HistoryPanel
from .member_view import MemberView
from .queue import QueuePanel
from .read_loader import ReadLoader, Request, Result, store_file, whole
from .search import SearchPanel
from .settings import UiSettings
from .worker import ImportProgress, ImportRunner, expand_paths

log = logging.getLogger("enrollreview.ui")

# (keys, what they do): shown under Help > Keyboard shortcuts; tests check each one is listed.
SHORTCUTS = [
    ("\u2191 / \u2193  or  j / k", "Move through the queue (in the member view: next / previous queue item)"),
    ("Enter", "Open the selected flag or member"),
    ("Esc", "Back to the queue"),
    ("Ctrl+F", "Search members (name, ids, last four of the SSN, date of birth)"),
    ("Ctrl+1", "Review queue"),
    ("Ctrl+2", "Files and error rates"),
    ("Ctrl+M", "Queue: switch between one row per flag and one row per member"),
    ("Shift+\u2191 / \u2193, Ctrl+click", "Queue: select several rows, then set their status or assign them"),
    ("Ctrl+Z", "Queue: undo your last change (a bulk change is undone all at once)"),
    ("Ctrl+O", "Open 834 files"),
    ("Ctrl+Shift+O", "Import every file in a folder"),
    ("Ctrl+E", "Export"),
    ("F1", "This list"),
    ("Ctrl+Q", "Quit"),
]

DEMO_TEXT = ("Demo data: the people in these files are made up, for practice. To review your own 834 files use "
             "File \u25b8 Open files\u2026 or drop them on this window.")


class ImportProgressBar(QWidget):
    """Status-bar progress: percent, members/s and time left, with Cancel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importProgress")
        self.label = QLabel()
        self.label.setObjectName("importLabel")
        self.bar = QProgressBar()
        self.bar.setObjectName("importBar")
        self.bar.setRange(0, 1000)
        self.bar.setFormat("%p%")
        self.bar.setTextVisible(True)
        self.bar.setMinimumWidth(160)
        self.cancel = QPushButton("Cancel import")
        self.cancel.setObjectName("cancelImport")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        lay.addWidget(self.cancel)
        self.hide()

    def begin(self, n_files: int) -> None:
        self.bar.setValue(0)
        self.cancel.setEnabled(True)
        self.cancel.setText("Cancel import")
        self.label.setText(f"Importing {n_files} file{'s' if n_files != 1 else ''}\u2026")
        self.show()

    def update_progress(self, p: ImportProgress) -> None:
        self.bar.setValue(int(p.fraction * 1000))
        self.label.setText(p.text())


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(len(SHORTCUTS), 2)
        self.table.setObjectName("shortcutsTable")
        self.table.setHorizontalHeaderLabels(["Keys", "What it does"])
        self.table.verticalHeader().hide()
        for i, (keys, what) in enumerate(SHORTCUTS):
            self.table.setItem(i, 0, QTableWidgetItem(keys))
            self.table.setItem(i, 1, QTableWidgetItem(what))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        self.resize(620, 440)


class MainWindow(QMainWindow):
    QUEUE_TAB, FILES_TAB, SEARCH_TAB = 0, 1, 2

    def __init__(self, db: Database, db_path: Path, *, demo_mode: bool = False,
                 settings: UiSettings | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.db = db
        self.db_path = Path(db_path)
        self.demo_mode = demo_mode
        self.settings = settings or UiSettings()
        self.origin = "queue"      # where the member view was opened from: queue, search, files
        self.last_results: list[ImportResult] = []
        self.setWindowTitle("enrollreview" + (" \u2014 DEMO" if demo_mode else ""))
        self.setWindowIcon(style.icon("enrollreview"))
        self.setAcceptDrops(True)

        self.importer = ImportRunner(self)
        self.importer.started.connect(self._on_import_started)
        self.importer.progressed.connect(self._on_import_progress)
        self.importer.fileDone.connect(self._on_file_done)
        self.importer.problem.connect(self._on_import_problem)
        self.importer.crashed.connect(self._on_import_crashed)
        self.importer.finished.connect(self._on_import_finished)

        self.queue = QueuePanel(db)
        self.queue.openRequested.connect(self._on_queue_open)
        self.queue.flagsChanged.connect(self._on_flags_changed)
        self.queue.reloaded.connect(self._on_queue_reloaded)
        self.files = FilesPanel(db)
        self.files.showFileFlags.connect(self.show_file_flags)
        self.search = SearchPanel(db)
        self.search.openRequested.connect(self._on_search_open)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.addTab(self.queue, "Review queue")
        self.tabs.addTab(self.files, "Files and error rates")
        self.tabs.addTab(self.search, style.icon("search"), "Search members")
        self._files_stale = True
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.member_view = MemberView(db)
        self.member_view.backRequested.connect(self.go_back)
        self.member_view.stepRequested.connect(self.step_item)
        self.member_view.openMember.connect(self._on_member_open_related)
        self.stack = QStackedWidget()
        self.stack.setObjectName("pages")
        self.stack.addWidget(self.tabs)
        self.stack.addWidget(self.member_view)

        self.demo_banner = QLabel(DEMO_TEXT)
        self.demo_banner.setObjectName("demoBanner")
        self.demo_banner.setWordWrap(True)
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.demo_banner)
        cl.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.progress = ImportProgressBar()
        self.progress.cancel.clicked.connect(self.cancel_import)
        self.counts = QLabel()
        self.counts.setObjectName("storeCounts")
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.counts)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_shortcuts()
        self.history = HistoryPanel(self.db, self)
        self.history.changed.connect(self._on_review_saved)
        self.member_view.set_history_panel(self.history)
        self._restore_settings()
        self._summary: dict[str, Any] = {}
        self._warmed = False   # the member page is laid out once, at the first show (_warm_member_view)
        path = store_file(db)
        # The open-flag count when the queue is filtered (a count over every flag): in a worker thread,
        # as the queue's query (an in-memory store: at once).
        self._count_loader = (ReadLoader(path, whole(uq.count_open_flags), "open-flag count", "countLoader")
                              if path is not None else None)
        if self._count_loader is not None:
            self._count_loader.loaded.connect(self._on_count_loaded)
        self._count_generation = 0
        self.refresh_all(wait=True)   # not shown yet: the first rows are there when it is
        crash.set_parent(self)

    # -- construction --------------------------------------------------------------------------
    def _action(self, text: str, slot: Any, shortcut: Any = None, icon: str | None = None,
                tip: str = "") -> QAction:
        a = QAction(style.icon(icon), text, self) if icon else QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.triggered.connect(slot)
        return a

    def _build_actions(self) -> None:
        self.act_open = self._action("&Open files\u2026", self.open_files, QKeySequence.StandardKey.Open, "open",
                                     "Import one or more 834 files")
        self.act_folder = self._action("&Import folder\u2026", self.import_folder, "Ctrl+Shift+O", "folder",
                                       "Import every file in a folder")
        self.act_roster = self._action("Import exchange &roster\u2026", self.open_roster, None, None,
                                       "Import the exchange's monthly roster and find enrollments with no 834")
        self.act_export = self._action("&Export\u2026", self.open_export, "Ctrl+E", "export",
                                       "Export call-back and follow-up lists")
        self.act_audit = self._action("&Audit trail\u2026", self.open_audit, None, None,
                                      "Every status change, note, correction, export and SSN reveal")
        self.act_quit = self._action("&Quit", self.close, "Ctrl+Q")
        self.act_search = self._action("&Search members", self.show_search, QKeySequence.StandardKey.Find, "search",
                                       "Search members by name, ids, last four of the SSN or date of birth (Ctrl+F)")
        self.act_queue = self._action("Review &queue", self.show_queue, "Ctrl+1")
        self.act_files = self._action("&Files and error rates", self.show_files, "Ctrl+2")
        self.act_by_member = self._action("Queue: one row per &member", self.toggle_queue_mode, "Ctrl+M")
        self.act_by_member.setCheckable(True)
        self.act_back = self._action("&Back to the queue", self.go_back)
        self.act_back.setShortcutVisibleInContextMenu(True)
        self.act_back.setText("&Back to the queue\tEsc")
        self.act_reset = self._action("&Reset window layout", self.reset_layout)
        self.act_where = self._action("&Where is my data?", self.show_data_location)
        self.act_shortcuts = self._action("&Keyboard shortcuts", self.show_shortcuts, QKeySequence.StandardKey.HelpContents)
        self.act_about = self._action("&About enrollreview", self.show_about)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.act_open)
        m.addAction(self.act_folder)
        self.recent_menu = QMenu("&Recent files", self)
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addMenu(self.recent_menu)
        m.addSeparator()
        m.addAction(self.act_roster)
        m.addSeparator()
        m.addAction(self.act_export)
        m.addSeparator()
        m.addAction(self.act_quit)
        v = mb.addMenu("&View")
        for a in (self.act_queue, self.act_files, self.act_search):
            v.addAction(a)
        v.addSeparator()
        v.addAction(self.act_by_member)
        v.addAction(self.act_back)
        t = mb.addMenu("&Tools")
        t.addAction(self.act_audit)
        s = mb.addMenu("&Settings")
        s.addAction(self.act_reset)
        s.addAction(self.act_where)
        h = mb.addMenu("&Help")
        h.addAction(self.act_shortcuts)
        h.addAction(self.act_about)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        size = self.fontMetrics().height() + 4
        tb.setIconSize(QSize(size, size))
        for a in (self.act_open, self.act_folder, self.act_search, self.act_export):
            tb.addAction(a)
        self.addToolBar(tb)

    def _build_shortcuts(self) -> None:
        esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        esc.activated.connect(self.go_back)
        self._shortcuts = [esc]
        for key, slot in ((Qt.Key.Key_J, self.next_item), (Qt.Key.Key_K, self.previous_item)):
            sc = QShortcut(QKeySequence(key), self.member_view)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
            self._shortcuts.append(sc)

    # -- settings ------------------------------------------------------------------------------
    def _splitters(self) -> list[Any]:
        mv = self.member_view
        return [mv.side_split, mv.right_split, mv.dups.splitter, self.files.splitter]

    def _restore_settings(self) -> None:
        s = self.settings
        geo = s.geometry()
        if geo is None or not self.restoreGeometry(geo):
            self.resize(1280, 800)
        st = s.window_state()
        if st is not None:
            self.restoreState(st)
        for sp in self._splitters():
            if not s.restore_splitter(sp):
                self._default_splitter(sp)
        s.restore_columns("queue_flags", self.queue.view.horizontalHeader())
        s.restore_columns("files", self.files.view.horizontalHeader())

    def _default_splitter(self, sp: Any) -> None:
        name = sp.objectName()
        if name == "memberSplitter":
            sp.setSizes([480, 720])
        elif name == "rawHistorySplitter":
            sp.setSizes([450, 300])
        elif name == "filesSplitter":
            sp.setSizes([450, 300])

    def save_settings(self) -> None:
        s = self.settings
        s.save_window(self.saveGeometry(), self.saveState())
        for sp in self._splitters():
            s.save_splitter(sp)
        if self.queue.model.filter.mode == "flags":
            s.save_columns("queue_flags", self.queue.view.horizontalHeader())
        s.save_columns("files", self.files.view.horizontalHeader())
        s.sync()

    @Slot()
    def reset_layout(self) -> None:
        self.settings.clear_layout()
        self.resize(1280, 800)
        for sp in self._splitters():
            self._default_splitter(sp)
        self.queue._set_default_widths()
        self.statusBar().showMessage("Window layout reset.", 8000)

    # -- refreshing ----------------------------------------------------------------------------
    def refresh_all(self, *, wait: bool = False) -> None:
        """Re-read everything from the store (start-up and after an import). The queue's query, the
        Files tab's overview and the open-flag count of a filtered queue run in their loaders' threads
        unless `wait`; the open-flag count of the unfiltered queue follows when its rows arrive."""
        self.queue.refresh_choices()
        self.queue.reload(wait=wait)
        self._files_stale = True
        if self.tabs.currentWidget() is self.files:   # otherwise when the Files tab is shown
            self._reload_files(wait=wait)
        summary = uq.store_summary(self.db)
        self.demo_banner.setVisible(self.demo_mode or summary["has_demo"])
        self._update_counts(summary, wait=wait)

    def _reload_files(self, *, wait: bool = False) -> None:
        self._files_stale = False
        self.files.reload(wait=wait)

    @Slot(int)
    def _on_tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.files and (self._files_stale or self.files.failed):
            self._reload_files()

    def _queue_shows_open_flags(self) -> bool:
        """Whether the queue shows exactly the open flags (its total is then the open-flag count)."""
        flt = self.queue.model.filter
        return (flt.mode == "flags" and flt.status == "open" and not flt.category and not flt.severity
                and flt.file_id is None and not flt.text.strip())

    @Slot()
    def _on_queue_reloaded(self) -> None:
        if self._summary and self._queue_shows_open_flags():
            self._update_counts(self._summary)

    def _update_counts(self, summary: dict[str, Any] | None = None, *, wait: bool = False) -> None:
        """The status bar's counts. The open flags are the queue's total when it shows exactly them;
        otherwise they are counted in the count loader's thread (unless `wait`), the text shown staying
        until then."""
        self._summary = summary or uq.store_summary(self.db)
        self._count_generation += 1
        request = Request(self._count_generation)
        loader = self._count_loader
        if self._queue_shows_open_flags():
            n = self.queue.model.total()
        elif loader is None or wait:
            n = uq.count_open_flags(self.db)
        else:
            loader.request(request)
            return
        if loader is not None:
            loader.forget(request.generation)
        self._show_counts(n)

    @Slot(object)
    def _on_count_loaded(self, result: Result) -> None:
        if result.request.generation == self._count_generation:
            self._show_counts(result.value)

    def _show_counts(self, open_flags: int) -> None:
        s = self._summary
        self.counts.setText(" \u00b7 ".join(_count(v, word) for v, word in
                                         ((open_flags, "open flag"), (s["members"], "member"),
                                          (s["files"], "file"))))
        self.counts.setToolTip(f"Store: {self.db_path}")

    def counts_loading(self) -> bool:
        """Whether the open-flag count asked for last is still being counted."""
        return self._count_loader is not None and self._count_loader.running()

    # -- navigation ----------------------------------------------------------------------------
    def on_member_page(self) -> bool:
        return self.stack.currentWidget() is self.member_view

    @Slot()
    def show_queue(self) -> None:
        self.stack.setCurrentWidget(self.tabs)
        self.tabs.setCurrentWidget(self.queue)
        self.queue.view.setFocus()

    @Slot()
    def show_files(self) -> None:
        self.stack.setCurrentWidget(self.tabs)
        self.tabs.setCurrentWidget(self.files)
        self.files.view.setFocus()

    @Slot()
    def show_search(self) -> None:
        self.stack.setCurrentWidget(self.tabs)
        self.tabs.setCurrentWidget(self.search)
        self.search.focus_field()

    @Slot()
    def go_back(self) -> None:
        """Esc: from the member view back to where it was opened; from search or files to the queue."""
        if self.on_member_page():
            self.stack.setCurrentWidget(self.tabs)
            if self.origin == "search":
                self.tabs.setCurrentWidget(self.search)
                self.search.view.setFocus()
            else:
                self.tabs.setCurrentWidget(self.queue)
                self.queue.view.setFocus()
            return
        self.show_queue()

    def open_member(self, member_row: int, flag_id: int | None = None, origin: str | None = None) -> bool:
        if origin:
            self.origin = origin
        if not self.member_view.load(member_row, flag_id):
            self.statusBar().showMessage("That member is no longer in the store.", 8000)
            return False
        self.stack.setCurrentWidget(self.member_view)
        if self.member_view.flags:
            self.member_view.flags_view.setFocus()
        else:
            self.member_view.raw.setFocus()
        return True

    @Slot(object)
    def _on_queue_open(self, row: dict[str, Any]) -> None:
        self.open_queue_row(row)

    def open_queue_row(self, row: dict[str, Any]) -> bool:
        if row.get("member_row"):
            return self.open_member(row["member_row"], row.get("flag_id"), origin="queue")
        # A roster-only person (MISS-01: no 834 ever came): the exchange's roster row.
        if row.get("flag_id") and roster_dialog.open_roster_row(self, row["flag_id"]):
            return True
        # A file-level flag (no member): show the file it concerns.
        self.show_files()
        self.files.select_file(row.get("file_id"))   # now, or when the list on its way is shown
        text = row.get("message") or row.get("rules") or ""
        self.statusBar().showMessage(f"This flag concerns the whole file: {text}", 15000)
        return False

    @Slot(int)
    def _on_search_open(self, member_row: int) -> None:
        self.open_member(member_row, origin="search")

    @Slot(int)
    def _on_member_open_related(self, member_row: int) -> None:
        self.open_member(member_row)

    @Slot(int)
    def step_item(self, step: int) -> None:
        """Next / previous item of the list the member view was opened from, staying in the member view."""
        if not self.on_member_page():
            self.queue.view.move_by(step)
            return
        if self.origin == "search":
            r = self.search.step(step)
            if r is not None:
                self.open_member(r["id"])
            return
        r = self.queue.step(step)
        if r is None:
            self.statusBar().showMessage("No more items in the queue." if step > 0 else "This is the first item.",
                                         5000)
            return
        if r.get("member_row"):
            self.open_member(r["member_row"], r.get("flag_id"))

    @Slot()
    def next_item(self) -> None:
        self.step_item(1)

    @Slot()
    def previous_item(self) -> None:
        self.step_item(-1)

    @Slot()
    def toggle_queue_mode(self) -> None:
        self.queue.set_mode("members" if self.act_by_member.isChecked() else "flags")
        self.show_queue()

    @Slot(int)
    def show_file_flags(self, file_id: int) -> None:
        self.queue.set_file(file_id)
        self.show_queue()

    # -- importing -----------------------------------------------------------------------------
    def import_paths(self, paths: list[str | Path], *, is_demo: bool = False) -> bool:
        """Start a background import. False when nothing to import or one is already running."""
        if self.importer.running():
            self.statusBar().showMessage("An import is already running: wait for it to finish, or cancel it.",
                                         10000)
            return False
        files = expand_paths(list(paths))
        if not files:
            self.statusBar().showMessage("Nothing to import: no files were found there.", 10000)
            return False
        return self.importer.start(self.db_path, files, is_demo=is_demo)

    def maybe_import_demo(self) -> bool:
        """First start with an empty store (or --demo): load the bundled demo files, labelled as demo."""
        if self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0]:
            return False
        d = demo_dir()
        if not d.is_dir() or not expand_paths([d]):
            return False
        self.statusBar().showMessage("First start: loading the demo files so you can see how flags look.", 15000)
        self.demo_banner.show()
        return self.import_paths([d], is_demo=True)

    @Slot()
    def open_files(self) -> None:
        files = dialogs.ask_open_files(self, self.settings.last_folder())
        if files:
            self.settings.set_last_folder(Path(files[0]).parent)
            self.import_paths(list(files))

    @Slot()
    def import_folder(self) -> None:
        folder = dialogs.ask_folder(self, self.settings.last_folder())
        if folder:
            self.settings.set_last_folder(folder)
            self.import_paths([folder])

    @Slot()
    def cancel_import(self) -> None:
        self.importer.cancel()
        self.progress.cancel.setEnabled(False)
        self.progress.cancel.setText("Cancelling\u2026")

    @Slot(int)
    def _on_import_started(self, n: int) -> None:
        self.last_results = []
        self.progress.begin(n)
        self.act_open.setEnabled(False)
        self.act_folder.setEnabled(False)

    @Slot(object)
    def _on_import_progress(self, p: ImportProgress) -> None:
        self.progress.update_progress(p)

    @Slot(object)
    def _on_file_done(self, r: ImportResult) -> None:
        self.last_results.append(r)
        self.statusBar().showMessage(r.summary(), 15000)

    @Slot(str)
    def _on_import_problem(self, text: str) -> None:
        self.statusBar().showMessage(text, 30000)

    @Slot(str)
    def _on_import_crashed(self, details: str) -> None:
        crash.report_crash(details)

    @Slot(object)
    def _on_import_finished(self, results: list[ImportResult]) -> None:
        self.progress.hide()
        self.act_open.setEnabled(True)
        self.act_folder.setEnabled(True)
        self.last_results = list(results)
        self.refresh_all()
        if self.on_member_page() and self.member_view.member is not None:
            m = self.member_view.member
            self.member_view.load(m["id"], self.member_view.flag["id"] if self.member_view.flag else None)
        self.statusBar().showMessage(import_summary(results), 30000)

    @Slot()
    def _on_flags_changed(self) -> None:
        """A bulk change or its undo in the queue: the open-flag count in the status bar follows."""
        self._update_counts()

    @Slot()
    def _on_review_saved(self) -> None:
        """A status saved in the member view (which reloads itself and the queue): new status choices
        for the queue's filter, and the open-flag count."""
        self.queue.refresh_choices()
        self._update_counts()

    # -- exports, rosters, audit ---------------------------------------------------------------
    @Slot()
    def open_export(self) -> None:
        """File > Export: call-back, follow-up and summary lists, written in the background."""
        export_dialog.open_export_dialog(self)

    @Slot()
    def open_roster(self) -> None:
        """File > Import exchange roster: choose the file, confirm the columns, import and reconcile in the
        background; the queue is refreshed when it is done."""
        path = roster_dialog.ask_roster_file(self, self.settings.last_folder())
        if path:
            self.settings.set_last_folder(Path(path).parent)
            roster_dialog.open_roster_dialog(self, path)

    @Slot()
    def open_audit(self) -> None:
        """Tools > Audit trail: the whole trail in its own window, with the hash-chain check."""
        audit_view.open_audit_window(self)

    # -- help ----------------------------------------------------------------------------------
    @Slot()
    def show_shortcuts(self) -> None:
        ShortcutsDialog(self).exec()

    @Slot()
    def show_about(self) -> None:
        dialogs.inform(self, "About enrollreview", about_text(self.db_path))

    @Slot()
    def show_data_location(self) -> None:
        dialogs.inform(self, "Where is my data?",
                       f"Members, flags and notes are kept in one file on this computer, readable only by "
                       f"you:\n{self.db_path}\n\nWindow sizes and the last folder are kept in:\n"
                       f"{self.settings.s.fileName()}")

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        rows = uq.recent_files(self.db)
        if not rows:
            a = self.recent_menu.addAction("(no files yet)")
            a.setEnabled(False)
            return
        for r in rows:
            label = r["name"] + ("  (rejected)" if r["status"] != "imported" else "")
            a = self.recent_menu.addAction(label)
            a.setData(r["id"])
            a.setToolTip("Show this file's flags")
            a.triggered.connect(self._on_recent)

    @Slot()
    def _on_recent(self) -> None:
        a = self.sender()
        if isinstance(a, QAction) and a.data() is not None:
            fid = int(a.data())
            st = self.db.execute("SELECT status FROM files WHERE id = ?", [fid]).fetchone()
            if st and st[0] == "imported":
                self.show_file_flags(fid)
            else:
                self.show_files()

    # -- drag and drop -------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        md = event.mimeData()
        if md.hasUrls() and all(u.isLocalFile() for u in md.urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.settings.set_last_folder(Path(paths[0]).parent)
            self.import_paths(paths)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._warmed:
            self._warmed = True
            QTimer.singleShot(0, self, self._warm_member_view)   # dropped if the window is gone

    @Slot()
    def _warm_member_view(self) -> None:
        """Fill and paint the (hidden) member page once while the window is idle after start-up.

        The first member a clerk opened took 20-30 ms longer than every later one: Qt polishes, lays out
        and first paints the page then, and rasterises the glyphs of its fonts (the raw segments' monospace
        one). Doing that here with the queue's first member (read only, nothing recorded, replaced by the
        clerk's first open) leaves only the member's own data to the click."""
        if self.on_member_page():
            return
        first = self.queue.model.row(0) if self.queue.model.rowCount() else None
        if first and first.get("member_row"):
            self.member_view.load(first["member_row"], first.get("flag_id"))
        self.member_view.resize(self.stack.size())
        self.member_view.grab()

    # -- closing -------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self.importer.running():
            if not dialogs.confirm(self, "Import running", "An import is still running. Cancel it and quit? "
                                   "Nothing from the unfinished file will be kept."):
                event.ignore()
                return
            self.importer.cancel_and_wait()
        runner = getattr(self, "_roster_runner", None)
        if runner is not None:
            runner.wait_quietly()
        self.queue.shutdown()
        self.files.shutdown()
        if self._count_loader is not None:
            self._count_loader.shutdown()
        self.save_settings()
        crash.set_parent(None)
        event.accept()


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def about_text(db_path: Path) -> str:
    """Help > About: what the program does, every version a support call asks for, and the store."""
    return ("Review ANSI X12 834 enrollment files (005010X220A1) offline: flag business errors, point at the "
            "exact segments, reconcile against the exchange's roster, and keep a record of what was done.\n\n"
            f"{version_text()}\n\nStore: {db_path}")


def import_summary(results: list[ImportResult]) -> str:
    """One line for the status bar after an import, in plain words."""
    if not results:
        return "Nothing was imported."
    done = [r for r in results if r.status == "imported"]
    rejected = [r for r in results if r.status == "rejected"]
    dup = [r for r in results if r.status == "duplicate"]
    cancelled = [r for r in results if r.status == "cancelled"]
    parts = []
    if done:
        parts.append(f"Imported {len(done)} file{'s' if len(done) != 1 else ''}: "
                     f"{sum(r.members for r in done):,} members, {sum(r.flags for r in done):,} flags.")
    if rejected:
        parts.append(f"{len(rejected)} rejected ({rejected[0].name}: {rejected[0].reason}"
                     + (f"; and {len(rejected) - 1} more, see Files" if len(rejected) > 1 else "") + ").")
    if dup:
        parts.append(f"{len(dup)} already imported before, skipped.")
    if cancelled:
        parts.append("Import cancelled: nothing from the unfinished file was kept.")
    return " ".join(parts)
