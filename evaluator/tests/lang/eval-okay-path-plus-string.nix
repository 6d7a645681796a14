[ (./foo + "/bar") (./foo + "bar") (/. + "etc") (/a + "/b/../c") ]
