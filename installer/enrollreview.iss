; Inno Setup 6 script for the enrollreview Windows installer (issue 7).
;
; Installs the PyInstaller one-folder build (dist\enrollreview\, made by installer\build.py) for the
; current user, without administrator rights, into %LOCALAPPDATA%\Programs\enrollreview, with a
; Start-menu entry and an uninstaller (Settings > Apps). The clerk's data is NOT in that folder: the
; store and logs live in %LOCALAPPDATA%\enrollreview and the window settings in
; %APPDATA%\enrollreview; the uninstaller removes only what it installed, so that data stays.
; IT can install for all users instead with:  enrollreview-<version>-windows-x64-setup.exe /ALLUSERS
;
; Built by installer\build.py on Windows (it passes /DAppVersion=...), or by hand from the repository root:
;   "%LOCALAPPDATA%\Programs\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 installer\enrollreview.iss
; Output: dist\enrollreview-<version>-windows-x64-setup.exe

#define AppName "enrollreview"
#define AppExe "enrollreview.exe"
#define BundleDir "..\dist\enrollreview"
#ifndef AppVersion
  ; the version resource that installer\enrollreview.spec put into the executable
  #define AppVersion GetVersionNumbersString(AddBackslash(SourcePath) + BundleDir + "\" + AppExe)
#endif

[Setup]
; The AppId identifies the application to Windows across versions (upgrades, uninstall). Never change it.
AppId={{DA842B7F-6907-4B6B-A1DB-D9B40DEF5013}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=enrollreview
AppComments=Review X12 834 enrollment files offline and flag members with problems
VersionInfoVersion={#AppVersion}
VersionInfoProductName={#AppName}
; per-user install, no administrator rights; /ALLUSERS on the command line for a machine-wide install
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=commandline
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
DisableDirPage=auto
UsePreviousAppDir=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
SetupIconFile=..\resources\icons\enrollreview.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName} {#AppVersion}
OutputDir=..\dist
OutputBaseFilename={#AppName}-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; a running enrollreview is closed (and the clerk asked first) before its files are replaced
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; an upgrade replaces the whole bundle, so no library of an older version lingers beside the new one
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Comment: "Review X12 834 enrollment files"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; No [UninstallDelete] section on purpose: the store (%LOCALAPPDATA%\enrollreview), logs and window
; settings (%APPDATA%\enrollreview) belong to the clerk and are left in place on uninstall.
