"""Dialogs behind tiny functions, so tests can monkeypatch them (pytest-qt note_dialogs)."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

FILE_FILTER = "834 files (*.834 *.edi *.x12 *.txt *.dat);;All files (*)"


def ask_open_files(parent: QWidget | None, folder: str) -> list[str]:
    files, _ = QFileDialog.getOpenFileNames(parent, "Open 834 files", folder, FILE_FILTER)
    return list(files)


def ask_folder(parent: QWidget | None, folder: str) -> str:
    return QFileDialog.getExistingDirectory(parent, "Import every file in a folder", folder)


def confirm(parent: QWidget | None, title: str, text: str) -> bool:
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def inform(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)
