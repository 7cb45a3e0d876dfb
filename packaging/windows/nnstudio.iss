; Inno Setup 6.3+ script: the Windows installer for the PyInstaller folder dist\nnstudio.
;   python packaging\build.py                      (makes dist\nnstudio and build\nnstudio.ico)
;   iscc /DAppVersion=X.Y.Z packaging\windows\nnstudio.iss
; -> dist\nnstudio-X.Y.Z-windows-x64-setup.exe.  Installs per user (no admin rights) unless the
; user picks "all users"; adds a Start menu entry, an optional desktop icon and opens .nnsproj.
; Signing (maintainer step): see packaging/README.md.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z packaging\windows\nnstudio.iss
#endif
#define Root "..\.."

[Setup]
AppId={{4C4A89B5-9C3D-4E41-9422-533635215DF1}
AppName=nnstudio
AppVersion={#AppVersion}
AppVerName=nnstudio {#AppVersion}
AppPublisher=nnstudio developers
DefaultDirName={autopf}\nnstudio
DefaultGroupName=nnstudio
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Root}\dist
OutputBaseFilename=nnstudio-{#AppVersion}-windows-x64-setup
SetupIconFile={#Root}\build\nnstudio.ico
UninstallDisplayIcon={app}\nnstudio.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Root}\dist\nnstudio\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; A previous version's bundled libraries must not linger next to the new ones.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\nnstudio"; Filename: "{app}\nnstudio.exe"
Name: "{autodesktop}\nnstudio"; Filename: "{app}\nnstudio.exe"; Tasks: desktopicon

[Registry]
Root: HKA; Subkey: "Software\Classes\.nnsproj\OpenWithProgids"; ValueType: string; ValueName: "nnstudio.project"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\nnstudio.project"; ValueType: string; ValueName: ""; ValueData: "nnstudio project"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\nnstudio.project\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\nnstudio.exe,0"
Root: HKA; Subkey: "Software\Classes\nnstudio.project\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\nnstudio.exe"" ""%1"""

[Run]
Filename: "{app}\nnstudio.exe"; Description: "{cm:LaunchProgram,nnstudio}"; Flags: nowait postinstall skipifsilent
