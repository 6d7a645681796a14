# nxe's `<nix/fetchurl.nix>`: a fixed-output derivation for the builder's built-in fetcher,
# taking the same arguments with the same defaults and precedence as the reference's
# (`hash`, then `outputHash`, then sha512, sha1, md5 and finally sha256).
{
  system ? "builtin",
  url,
  hash ? "",
  sha1 ? "",
  sha256 ? "",
  sha512 ? "",
  md5 ? "",
  outputHash ? "",
  outputHashAlgo ? "",
  executable ? false,
  unpack ? false,
  name ? baseNameOf (toString url),
  impure ? false,
}:
let
  pick = fallback: if sha512 != "" then sha512 else if sha1 != "" then sha1 else if md5 != "" then md5 else fallback;
  algo = if sha512 != "" then "sha512" else if sha1 != "" then "sha1" else if md5 != "" then "md5" else "sha256";
in
derivation (
  {
    builder = "builtin:fetchurl";
    system = "builtin";
    inherit name url executable unpack;
    urls = [ url ];
    outputHashMode = if unpack || executable then "recursive" else "flat";
    impureEnvVars = [ "http_proxy" "https_proxy" "ftp_proxy" "all_proxy" "no_proxy" ];
    preferLocalBuild = true;
  }
  // (
    if impure then
      { __impure = true; }
    else
      {
        outputHashAlgo = if hash != "" then "" else if outputHashAlgo != "" then outputHashAlgo else algo;
        outputHash = if hash != "" then hash else if outputHash != "" then outputHash else pick sha256;
      }
  )
)
