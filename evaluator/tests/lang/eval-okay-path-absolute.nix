[ /foo/bar /a/./b/../c /. ]
