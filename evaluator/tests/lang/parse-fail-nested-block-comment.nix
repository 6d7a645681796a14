/* outer /* inner */ still comment? */ 1
