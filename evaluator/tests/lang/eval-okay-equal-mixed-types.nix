[ (1 == "1") (null == false) ("a" == ./a) ([ ] == { }) (null == null) (true == true) ]
